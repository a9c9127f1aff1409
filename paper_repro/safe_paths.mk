# Paths that make puts into shell commands (rm -rf among them) and gnuplot strings must
# be single words without shell or gnuplot syntax: a space in OUT once turned
# `rm -rf OUT/runs/1L` into `rm -rf /tmp/a b/runs/1L`. Included by the top-level
# Makefile and by paper_repro/Makefile, it refuses such a path before anything runs.
# $(call safe_path,NAME,VALUE): an error naming NAME when VALUE is not a safe path;
# $(call safe_words,NAME,VALUE): the same for a list of words (flags), spaces allowed.
safe_path_squote := '
safe_path_dquote := "
safe_path_bquote := `
safe_path_lparen := (
safe_path_rparen := )
safe_path_bslash := \$(empty)
safe_path_hash := \#
safe_path_bad := $(safe_path_squote) $(safe_path_dquote) $(safe_path_bquote) ; & | < > $(safe_path_lparen) \
    $(safe_path_rparen) * ? [ ] { } ! $(safe_path_bslash) $(safe_path_hash) $$
safe_path = $(if $(or $(filter-out 1,$(words $(2))),$(strip $(foreach c,$(safe_path_bad),$(findstring $(c),$(2))))),\
    $(error $(1)='$(2)': a path here must be one word without spaces or any of ' " ` ; & | < > ( ) * ? [ ] { } ! \ $$ $(safe_path_hash) (make puts it into shell commands); choose another folder))
safe_words = $(if $(strip $(foreach c,$(safe_path_bad),$(findstring $(c),$(2)))),\
    $(error $(1)='$(2)': these words must not hold any of ' " ` ; & | < > ( ) * ? [ ] { } ! \ $$ $(safe_path_hash) (make puts them into shell commands); rename the file or folder))
