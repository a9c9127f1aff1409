# Shared by every script in plots/ (loaded right after PLOTS is known): file names and
# other arguments never reach a shell or gnuplot's pipes unquoted. A run folder may be
# called `a;b`, `q'$(cmd)'x`, `sp ace` or `<cmd`.
#   bb_shq(s)     s as one single-quoted shell word ('\'' for each quote in it)
#   bb_file(f)    f, with ./ in front when it starts with < or | (gnuplot would run it:
#                 `plot '<cmd'` reads a command's output, `set output '|cmd'` writes to one)
#   bb_subst(s, a, b)   s with every a replaced by b
#   bb_isnat(s)   1 if s is a non-empty string of digits
bb_subst(s, a, b) = strstrt(s, a) ? s[1:strstrt(s, a) - 1].b.bb_subst(s[strstrt(s, a) + strlen(a):], a, b) : s
bb_shq(s) = "'".bb_subst(s, "'", "'\\''")."'"
bb_file(f) = (f[1:1] eq "<" || f[1:1] eq "|") ? "./".f : f
bb_digits(s) = strlen(s) == 0 ? 1 : (strstrt("0123456789", s[1:1]) ? bb_digits(s[2:]) : 0)
bb_isnat(s) = strlen(s) > 0 && bb_digits(s)
