# C15-C16 and the related-work sweeps (docs/related.md; docs/figures.md C15-C16):
# attention activations, learning rate at fixed lr x steps, weight decay, training context
# length at fixed tokens per step, depth, and the first-token controls. Every run is
# 2 layers x 4 heads unless the sweep changes it; REL_BASE is shared, so the softmax run
# of the activation sweep is also the x1 / N_0 / L = 2 / fixed-BOS point of the others.
# Included only with RELATED=1 (make repro-related). bbsim claims sections: activations
# (C15, reads the runs), context (C16, reads OUT/related/context.tsv and depth.tsv, the
# tables the figures draw).
ifeq ($(PROFILE),paper)
# the companion study's small-model scale within reach of a CPU: hours
REL_N     := 256
REL_BASE  := --layers 2 --heads 4 --dim 128 --seq $(REL_N) --batch 64 --lr 1e-3 --ckpt 500,20000,1.1 --steps 20000
REL_LR    := 0.25:2.5e-4:80000 0.5:5e-4:40000 2:2e-3:10000
REL_WD    := 0.1 0.5 1 2 5
REL_CTX   := 32:512 64:256 128:128 512:32
REL_DEPTH := 1 3 4
else ifeq ($(PROFILE),smoke)
REL_N     := 16
REL_BASE  := --layers 2 --heads 2 --dim 16 --seq $(REL_N) --batch 8 --lr 3e-3 --ckpt 20,40,1 --steps 40 --eval-batch 32
REL_LR    := 0.5:1.5e-3:80 2:6e-3:20
REL_WD    := 1
REL_CTX   := 8:16 32:4
REL_DEPTH := 1 3
else
REL_N     := 64
REL_BASE  := --layers 2 --heads 4 --dim 64 --seq $(REL_N) --batch 32 --lr 1e-3 --ckpt 500,2000,1.2 --steps 2000
REL_LR    := 0.25:2.5e-4:8000 0.5:5e-4:4000 2:2e-3:1000
REL_WD    := 0.1 1 5
REL_CTX   := 32:64 128:16 256:8
REL_DEPTH := 1 3
endif
# REL_LR: factor:lr:steps (lr x steps fixed); REL_CTX: N:batch (N x batch fixed); the
# base point (x1, the base N, L = 2, wd 1e-4 = bbsim's default, the smallest decay) is
# rel_softmax. Later flags override REL_BASE's.
# REL_ACTS: the --attn values swept (BB_ATTN_KINDS in include/bbsim/kernels.h), in the
# order of the activations table and of C15's loss list (src/claims/activations.c); the
# table's x is each run's recorded attn (config.txt), not its name.
REL_ACTS := softmax sigmoid sigmoid-norm relu softmax-keybias softmax1
# (bbsim takes the last of repeated flags: the sweeps append theirs to REL_BASE)
rel_f = $(word $(2),$(subst :, ,$(1)))

$(foreach a,$(REL_ACTS),$(eval $(call train,rel_$(a),$(REL_BASE) --attn $(a) $(TASK_FLAGS),related.mk)))
$(foreach p,$(REL_LR),$(eval $(call train,rel_lr$(call rel_f,$(p),1),$(REL_BASE) --lr $(call rel_f,$(p),2) --steps $(call rel_f,$(p),3) $(TASK_FLAGS),related.mk)))
$(foreach w,$(REL_WD),$(eval $(call train,rel_wd$(w),$(REL_BASE) --wd $(w) $(TASK_FLAGS),related.mk)))
$(foreach p,$(REL_CTX),$(eval $(call train,rel_ctx$(call rel_f,$(p),1),$(REL_BASE) --seq $(call rel_f,$(p),1) --batch $(call rel_f,$(p),2) $(TASK_FLAGS),related.mk)))
$(foreach d,$(REL_DEPTH),$(eval $(call train,rel_L$(d),$(REL_BASE) --layers $(d) $(TASK_FLAGS),related.mk)))
# first-token controls: BOS always first (rel_softmax), packed windows (BOS anywhere, the
# first token random), no BOS (the first token drawn from pi')
$(eval $(call train,rel_packing,$(REL_BASE) --packing $(TASK_FLAGS),related.mk))
$(eval $(call train,rel_nobos,$(REL_BASE) --bos 0 $(TASK_FLAGS),related.mk))

REL_RUNS := $(addprefix rel_,$(REL_ACTS)) $(foreach p,$(REL_LR),rel_lr$(call rel_f,$(p),1)) \
            $(addprefix rel_wd,$(REL_WD)) $(foreach p,$(REL_CTX),rel_ctx$(call rel_f,$(p),1)) \
            $(addprefix rel_L,$(REL_DEPTH)) rel_packing rel_nobos
$(foreach r,$(REL_RUNS),$(eval $(call analyze,$(r))))

# ---- sweep tables: one row per run (x, run, sink rate, chance, mean Attn<s> over every
# head and over the last layer's heads, eval loss), gathered from each run's config.txt
# (x), analysis/sink.tsv and metrics.tsv.
REL := $(OUT)/related
# awk, shared by the table programs below: col[NAME] is the column of NAME in the current
# TSV (its first line names the columns); get(NAME) is that field of the current line,
# and a missing column ends awk with status 2 and a message
define rel_columns_awk
function get(name) {
    if (!(name in col)) { printf "%s: no column %s\n", FILENAME, name > "/dev/stderr"; bad = 1; exit 2 }
    return $$col[name]
}
FNR == 1 && FILENAME ~ /\.tsv$$/ { split("", col); for (i = 1; i <= NF; i++) col[$$i] = i; next }
/^#/ { next }
endef
# one row from config.txt (x: the value of the key `field`, when given), sink.tsv and
# metrics.tsv, in that order
define rel_gather_awk
FNR == 1 { f++ }
$(rel_columns_awk)
f == 1 { if (field != "" && index($$0, field " ") == 1) { x = substr($$0, length(field) + 2); found = 1 } next }
f == 2 { sink = get("sink_rate"); chance = get("chance") }
f == 3 && get("layer") == -1 && get("metric") == "loss" { loss = get("value") }
f == 3 && get("layer") >= 0 && get("metric") == "attn_bos" { l = get("layer") + 0; v = get("value"); all += v; n++; if (l > last) { last = l; sl = 0; nl = 0 } if (l == last) { sl += v; nl++ } }
END {
    if (bad) exit
    if (field != "" && !found) { printf "%s: config.txt records no %s\n", run, field > "/dev/stderr"; exit 2 }
    printf "%s\t%s\t%s\t%s\t%.6g\t%.6g\t%s\n", x, run, sink, chance, all / n, sl / nl, loss
}
endef
export rel_gather_awk
# $(call rel_table,TABLE,X_NAME,X_FIELD,RUNS,SORT,K): related/TABLE.tsv of replicate K
# (under $(call rep_root,K): OUT for the first seed, OUT/seedK for seed K), one row per
# run of RUNS, from that replicate's runs. X_FIELD: the configuration key whose recorded
# value (the run's config.txt) is the row's x; empty: RUNS are X:RUN pairs and X is a
# label. SORT = sort rows by x (numbers), else keep RUNS' order
define rel_table
REPLICATE_INPUTS += $(call rep_root,$(6))/related/$(1).tsv
$(call rep_root,$(6))/related/$(1).tsv: $(foreach p,$(4),$(call rep_root,$(6))/runs/$(lastword $(subst :, ,$(p)))/analysis/done) $(HERE)/related.mk
	@mkdir -p $(call rep_root,$(6))/related
	@{ printf 'x\trun\tsink_rate\tchance\tattn_bos\tattn_bos_last\tloss\n'; \
	   printf '# bbsim related-work sweep (paper_repro/related.mk, PROFILE=$(PROFILE), seed $(6)): x = $(2)\n'; \
	   printf '# one row per run, from OUT/runs/<run>/analysis/sink.tsv (sink_rate = Sink_1^0.3 %%, chance = 100 H_N/N)\n'; \
	   printf '# and metrics.tsv (attn_bos = mean Attn<s> over every head, attn_bos_last over the last layer, loss = eval loss)\n'; \
	   for p in $(4); do r=$(call rep_root,$(6))/runs/$$$${p#*:}; \
	       awk -F'\t' -v x="$$$${p%%:*}" -v field='$(3)' -v run="$$$${p#*:}" -v last=-1 "$$$$rel_gather_awk" \
	           $$$$r/config.txt $$$$r/analysis/sink.tsv $$$$r/analysis/metrics.tsv || exit 1; \
	   done | $(if $(5),sort -t'	' -g -k1$(comma)1,cat); } > $$@.tmp && mv -f $$@.tmp $$@
endef

REL_LR_PAIRS    := $(foreach p,$(REL_LR),$(call rel_f,$(p),1):rel_lr$(call rel_f,$(p),1)) 1:rel_softmax
REL_WD_PAIRS    := 1e-4:rel_softmax $(foreach w,$(REL_WD),$(w):rel_wd$(w))
REL_FIRST_PAIRS := BOS_first:rel_softmax packed:rel_packing no_BOS:rel_nobos
REL_CTX_RUNS    := $(foreach p,$(REL_CTX),rel_ctx$(call rel_f,$(p),1)) rel_softmax
REL_DEPTH_RUNS  := $(addprefix rel_L,$(REL_DEPTH)) rel_softmax
REL_ACT_RUNS    := $(addprefix rel_,$(REL_ACTS))
# (the lr factor, the decay written 1e-4 at the base point and the first-token setting
# are labels: config.txt records lr, wd 0.0001, bos and packing)
$(foreach k,$(call seed_list,related),\
    $(eval $(call rel_table,activations,attention activation,attn,$(REL_ACT_RUNS),,$(k))) \
    $(eval $(call rel_table,lr,learning-rate factor (lr x steps fixed),,$(REL_LR_PAIRS),sort,$(k))) \
    $(eval $(call rel_table,wd,weight decay,,$(REL_WD_PAIRS),sort,$(k))) \
    $(eval $(call rel_table,context,training context length N (N x batch fixed),seq,$(REL_CTX_RUNS),sort,$(k))) \
    $(eval $(call rel_table,depth,layers L,layers,$(REL_DEPTH_RUNS),sort,$(k))) \
    $(eval $(call rel_table,first_token,first token,,$(REL_FIRST_PAIRS),,$(k))))

# $(call rel_figure,NAME,SCRIPT,TABLE,EXTRA_ARGS,CAPTION): the figure of one sweep table
# $(REL)/TABLE.tsv, drawn from it alone.
rel_figure = $(call figure,$(1),$(2),$(REL)/$(3).tsv,$(REL)/$(3).tsv $(4),$(5))
$(eval $(call rel_figure,C15_activations,sweep_bars,activations,,Attention activations at the same budget: sink rate Sink_1^0.3 with the chance level$(comma) mean Attn<s> and eval loss))
$(eval $(call rel_figure,C16_context,sweep_lines,context,context_length_N log,Training context length N at fixed tokens per step: sink rate$(comma) Attn<s> and loss))
$(eval $(call rel_figure,C16_depth,sweep_lines,depth,layers_L lin,Depth L: sink rate$(comma) Attn<s> and loss))
$(eval $(call rel_figure,rel_lr,sweep_lines,lr,lr_factor log,Learning rate x factor at fixed lr x steps: sink rate$(comma) Attn<s> and loss))
$(eval $(call rel_figure,rel_wd,sweep_lines,wd,weight_decay cat,Weight decay (AdamW$(comma) decoupled): sink rate$(comma) Attn<s> and loss))
$(eval $(call rel_figure,rel_first_token,sweep_bars,first_token,,First token: BOS always first vs packed windows (BOS anywhere) vs no BOS))

# ---- the BOS packing grid (study B, experiment 5): each first-token run evaluated on
# plain sequences with BOS first and without BOS (bbsim intervene --eval-bos B
# --eval-packing 0: the evaluation batch and the oracle of that task); the excess risk
# shows which models depend on the BOS being there.
REL_GRID := BOS_first:rel_softmax packed:rel_packing no_BOS:rel_nobos
# each first-token run evaluated with 1 and with 0 BOS (bbsim intervene --eval-bos B)
$(foreach p,$(REL_GRID),$(foreach b,1 0,\
    $(call per_rep,run_step,$(call rel_f,$(p),2),eval_bos$(b),intervene,--eval-bos $(b) --eval-packing 0 --quiet)))
# one row per (training, evaluation): the full model's rows of interventions.tsv
define rel_grid_awk
$(rel_columns_awk)
get("intervention") != "full" { next }
get("domain") == "all" { risk = get("risk"); oracle = get("oracle_risk"); ex = get("excess") }
get("domain") == "trigger" { ext = get("excess") }
get("domain") == "nontrigger" { exn = get("excess") }
END { if (bad) exit; printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", train, run, ev, risk, oracle, ex, ext, exn }
endef
export rel_grid_awk
# $(call rel_grid,K): related/first_token_grid.tsv of replicate K
define rel_grid
REPLICATE_INPUTS += $(call rep_root,$(1))/related/first_token_grid.tsv
$(call rep_root,$(1))/related/first_token_grid.tsv: $(foreach p,$(REL_GRID),$(foreach b,1 0,$(call rep_root,$(1))/runs/$(call rel_f,$(p),2)/eval_bos$(b)/done)) $(HERE)/related.mk
	@mkdir -p $(call rep_root,$(1))/related
	@{ printf 'train\trun\teval\trisk\toracle_risk\texcess\texcess_trigger\texcess_nontrigger\n'; \
	   printf '# bbsim BOS packing grid (paper_repro/related.mk, PROFILE=$(PROFILE), seed $(1)): each first-token run evaluated\n'; \
	   printf '# on plain sequences with BOS first (eval BOS) and without BOS (eval no_BOS), from\n'; \
	   printf '# OUT/runs/<run>/eval_bos1|eval_bos0/interventions.tsv (bbsim intervene --eval-bos 1|0 --eval-packing 0);\n'; \
	   printf '# risk and oracle_risk over all positions (nats), excess = risk - oracle_risk, by domain\n'; \
	   for p in $(REL_GRID); do for b in 1 0; do \
	       ev=BOS; [ $$$$b = 0 ] && ev=no_BOS; \
	       awk -F'\t' -v train="$$$${p%%:*}" -v run="$$$${p#*:}" -v ev=$$$$ev "$$$$rel_grid_awk" \
	           $(call rep_root,$(1))/runs/$$$${p#*:}/eval_bos$$$$b/interventions.tsv || exit 1; \
	   done; done; } > $$@.tmp && mv -f $$@.tmp $$@
endef
$(foreach k,$(call seed_list,related),$(eval $(call rel_grid,$(k))))
$(eval $(call figure,C16_bos_grid,grid_bars,$(REL)/first_token_grid.tsv,$(REL)/first_token_grid.tsv,First-token runs evaluated with BOS first and without BOS: excess risk over all$(comma) bigram and backcopy positions))

CLAIM_INPUTS += $(foreach a,$(REL_ACTS),$(RUNS)/rel_$(a)/analysis/done) $(REL)/context.tsv $(REL)/depth.tsv \
                $(REL)/first_token_grid.tsv
CLAIM_SECTIONS += activations context
