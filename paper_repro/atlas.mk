# The phase diagram of the extreme-token phenomena (issue 24; docs/figures.md#phase-diagram-atlas):
# one training per cell of optimizer x attention activation x learning rate, on the
# one-layer model (panels: the sink Attn<s>, the value drain |Val<s>| / mean) and on the
# three-layer model (panel: the residual peak |Res<s>| / mean after layer 0), each with
# the active-dormant verdict of its heads. Included only with ATLAS=1 (make repro-atlas):
# about an hour on 2 cores, its own budget. No claim reads it.
#   runs     RUNS/atlas_<1L|3L>_<optim>_lr<lr>_<attn>, each with analysis/ (heads.tsv)
#   table    OUT/atlas/atlas.tsv: bbsim collect over every run, one row per run, joined
#            by run name with each run's verdicts (OUT/atlas/verdicts.tsv)
#   figure   OUT/figures/atlas.pdf (plots/atlas.gp) and its report page
# `make -C paper_repro atlas ATLAS=1 ...` makes the runs, the table and the figure only.

# ---- the grid. One list per concept; the runs, the table and the figure follow them.
# Every attention activation bbsim has, read from its own help at parse time (the
# `--attn NAME ... (a|b|c)` line of `bbsim train --help`): a new activation joins the atlas
# by itself, in the help's order (the figure's rows).
ATLAS_ACTS := $(shell $(BBSIM) train --help 2>/dev/null \
    | sed -n 's/^ *--attn NAME .*(\([A-Za-z0-9_-]*|[A-Za-z0-9_|-]*\)).*/\1/p' | tr '|' ' ')
ifeq ($(strip $(ATLAS_ACTS)),)
$(error atlas.mk: no attention activation in '$(BBSIM) train --help' (its --attn NAME ... (a|b|c) line); build bbsim first (make build))
endif
# The optimizers, in the figure's column order, each with its flags: AdamW with bbsim's
# default weight decay (1e-4, decoupled), SGD (momentum 0.9, bbsim's default L2 1e-4: the
# 3L_sgd run's), Adam without weight decay.
ATLAS_OPTIMS := adamw sgd adam
ATLAS_OPTIM_FLAGS_adamw := --optim adamw
ATLAS_OPTIM_FLAGS_sgd   := --optim sgd
ATLAS_OPTIM_FLAGS_adam  := --optim adam --wd 0
# Three learning rates per optimizer: its base lr times 1/3, 1 and 3. The bases are the
# quick runs': AdamW 1e-3 as 1L and 3L (the Adam without decay shares it), SGD 0.03 as 3L_sgd.
ATLAS_LR_FACTORS := 1/3 1 3
ATLAS_BASE_LR_adamw := 1e-3
ATLAS_BASE_LR_sgd   := 0.03
ATLAS_BASE_LR_adam  := 1e-3
$(foreach o,$(ATLAS_OPTIMS),$(eval ATLAS_LRS_$(o) := $(foreach f,$(ATLAS_LR_FACTORS),\
    $(shell awk 'BEGIN { printf "%.3g", $(ATLAS_BASE_LR_$(o)) * $(f) }'))))

# ---- the sizes. The quick runs' shapes (1L: onelayer.mk's, 3L: deep.mk's) at 2,000
# steps, a checkpoint at step 0 and at the end only (the analysis reads the last), no
# evaluation during training (the paper preset's). Cost (bbsim train --plan, softmax):
# 1L 0.858 GFLOP/step x 2,000 = 1.716 TFLOP, 3L 1.876 x 2,000 = 3.752 TFLOP: 5.47 TFLOP
# per cell (gated-elem's gate adds 0.15 GFLOP/step to the 3-layer run). 3 optimizers x
# 3 lrs x the 10 activations of today: 90 cells, 180 runs, 495.8 TFLOP (the sum of the
# plans); at 204 GFLOP/s (2 cores, README.md#speed) the FLOP bound is 2,430 s and make
# repro's measured 1.5x of it gives about 61 min of wall (the analyses and bbsim collect
# are a few percent beside it). Each new activation adds 18 runs, 49 TFLOP, ~6 min. quick's 1L and 3L train 4,000 and 8,000 steps: 2,000
# keeps the atlas at an hour; C4's sink forms by 1,000 steps, C6's peak ratio is 2.0 at
# 1,250 (paper_repro/README.md#quick-sizes-on-the-papers-table).
# paper: the atlas has no paper size (the paper has no phase diagram and a paper-size
# cell is ~11 hours: bbsim train --help, preset paper); it keeps the quick sizes, so that
# make repro PROFILE=paper ATLAS=1 adds the same hour (with the paper profile's THREADS=0).
# smoke: tiny runs through every cell, a few seconds in all (tests/repro_smoke.sh).
ifeq ($(PROFILE),smoke)
ATLAS_SHAPE_1L := --layers 1 --dim 8 --seq 16 --batch 4 --eval-batch 16
ATLAS_SHAPE_3L := --layers 3 --dim 8 --seq 16 --batch 4 --eval-batch 16
ATLAS_STEPS := 10
else
ATLAS_SHAPE_1L := --layers 1 --dim 64 --seq 128 --batch 16
ATLAS_SHAPE_3L := --layers 3 --dim 128 --seq 16 --batch 32
ATLAS_STEPS := 2000
endif
ATLAS_MODELS := 1L 3L
ATLAS_SIZE = $(ATLAS_SHAPE_$(1)) --steps $(ATLAS_STEPS) --ckpt $(ATLAS_STEPS),$(ATLAS_STEPS),1

# ---- the runs: one seed (the paper's 42): one run per cell, SEEDS does not multiply it.
override SEEDS_atlas := 1
# $(call atlas_run,MODEL,OPTIM,LR,ATTN): the run's name
atlas_run = atlas_$(1)_$(2)_lr$(3)_$(4)
# every run, the 1-layer ones first; within a model by optimizer, lr, activation (the
# table's row order; the figure takes its rows and columns in order of appearance)
ATLAS_RUNS := $(foreach m,$(ATLAS_MODELS),$(foreach o,$(ATLAS_OPTIMS),$(foreach l,$(ATLAS_LRS_$(o)),\
    $(foreach a,$(ATLAS_ACTS),$(call atlas_run,$(m),$(o),$(l),$(a))))))
# $(call atlas_cell,MODEL,OPTIM,LR,ATTN): train one cell's run (analysed below). A run that
# diverges (a non-finite loss: large lrs may) is kept as such (BB_DIVERGE_OK, Makefile's
# train_rep) and shows as a grey cell, instead of failing the atlas.
define atlas_cell
$(call train,$(call atlas_run,$(1),$(2),$(3),$(4)),$(call ATLAS_SIZE,$(1)) $(ATLAS_OPTIM_FLAGS_$(2)) --lr $(3) --attn $(4) $(TASK_FLAGS),atlas.mk)
$(RUNS)/$(call atlas_run,$(1),$(2),$(3),$(4))/trained: BB_DIVERGE_OK := 1
endef
$(foreach m,$(ATLAS_MODELS),$(foreach o,$(ATLAS_OPTIMS),$(foreach l,$(ATLAS_LRS_$(o)),\
    $(foreach a,$(ATLAS_ACTS),$(eval $(call atlas_cell,$(m),$(o),$(l),$(a)))))))
$(foreach r,$(ATLAS_RUNS),$(eval $(call analyze,$(r))))

# ---- the verdicts: one row per run from its analysis/heads.tsv (bbsim analyze at the
# last checkpoint; columns read by name). A run is active-dormant when one of its heads
# (the 1-layer model has one) is labelled active on the trigger domain and dormant on the
# nontrigger domain (the head table's rule, docs/method.md#heads-active-and-dormant:
# dormant needs Attn<s> > tau_sink as well); by the removal test alone when one head's
# removal raises the trigger risk by more than tau_loss and moves the non-trigger risk by
# less (no Attn<s> condition: a head that stays functionally dormant without parking on
# <s> counts). tau_loss is the analysis's own (its '# analysis ... tau_loss' line, 0.01).
# diverged_at: the step at which training stopped on a non-finite loss (RUNS/NAME/diverged),
# 0 when it trained to the end; a diverged run gets no verdict (NaN).
ATLAS_DIR := $(OUT)/atlas
define atlas_verdict_awk
FNR == 1 { for (i = 1; i <= NF; i++) col[$$i] = i; next }
/^# analysis / { n = split($$0, w, " "); for (i = 2; i < n; i++) if (w[i] == "tau_loss") tau = w[i + 1] + 0; next }
/^#/ { next }
{
    h = $$col["layer"] ":" $$col["head"]; heads[h] = 1
    label[h, $$col["domain"]] = $$col["label"]; delta[h, $$col["domain"]] = $$col["delta_risk"] + 0
}
END {
    if (tau == "" || !("layer" in col) || !("delta_risk" in col) || !("label" in col)) {
        print "atlas: " FILENAME ": no tau_loss line or no layer/domain/delta_risk/label column" > "/dev/stderr"; exit 1
    }
    ad = 0; adr = 0
    for (h in heads) {
        if (label[h, "trigger"] == "active" && label[h, "nontrigger"] == "dormant") ad = 1
        d = delta[h, "nontrigger"]
        if (delta[h, "trigger"] > tau && (d < 0 ? -d : d) < tau) adr = 1
    }
    if (diverged > 0) printf "%s\tNaN\tNaN\t%d\n", run, diverged
    else printf "%s\t%d\t%d\t0\n", run, ad, adr
}
endef
export atlas_verdict_awk
$(ATLAS_DIR)/verdicts.tsv: $(foreach r,$(ATLAS_RUNS),$(RUNS)/$(r)/analysis/done) $(HERE)/atlas.mk
	@mkdir -p $(ATLAS_DIR)
	@{ printf 'run\tactive_dormant\tactive_dormant_removal\tdiverged_at\n'; \
	   printf '# bbsim atlas verdicts (paper_repro/atlas.mk, PROFILE=$(PROFILE)): one row per run, from RUNS/<run>/analysis/heads.tsv;\n'; \
	   printf '# active_dormant = 1 when a head is labelled active on trigger and dormant on nontrigger positions;\n'; \
	   printf '# active_dormant_removal = 1 when a head'"'"'s removal raises the trigger risk by > tau_loss and moves the\n'; \
	   printf '# nontrigger risk by < tau_loss (no Attn<s> condition); diverged_at = step of a non-finite loss (0: none; verdicts NaN)\n'; \
	   for r in $(ATLAS_RUNS); do \
	       s=$$(sed -n 's/.* at step \([0-9]*\).*/\1/p' $(RUNS)/$$r/diverged 2>/dev/null); \
	       awk -F'\t' -v run=$$r -v diverged="$${s:-0}" "$$atlas_verdict_awk" $(RUNS)/$$r/analysis/heads.tsv || exit 1; \
	   done; } > $@.tmp && mv -f $@.tmp $@

# ---- the table: bbsim collect over every run (from inside RUNS, so that its run column
# is the run's name; its messages in atlas/collect.log), then the verdicts appended to
# each row, joined by the run column (found by name in either table).
define atlas_join_awk
FNR == 1 { rc = 0; for (i = 1; i <= NF; i++) if ($$i == "run") rc = i; if (!rc) { print "atlas: " FILENAME ": no run column" > "/dev/stderr"; exit 1 } }
NR == FNR { if (FNR > 1 && !/^#/) { v[$$rc] = $$2 "\t" $$3 "\t" $$4 }; next }
FNR == 1 {
    print $$0 "\tactive_dormant\tactive_dormant_removal\tdiverged_at"
    print "# bbsim atlas (paper_repro/atlas.mk, PROFILE=" profile "; docs/figures.md#phase-diagram-atlas): bbsim collect over every"
    print "# atlas run (below), with three columns joined by run name from atlas/verdicts.tsv: active_dormant (a head"
    print "# labelled active on trigger, dormant on nontrigger positions), active_dormant_removal (the removal test alone),"
    print "# diverged_at (the step of a non-finite loss, 0 = trained to the end; its metrics are its last checkpoint's)"
    next
}
/^#/ { print; next }
{ if (!($$rc in v)) { print "atlas: no verdict for run " $$rc > "/dev/stderr"; exit 1 } print $$0 "\t" v[$$rc]; n++ }
END { if (n != want) { print "atlas: " n " rows, " want " runs" > "/dev/stderr"; exit 1 } }
endef
export atlas_join_awk
$(ATLAS_DIR)/atlas.tsv: $(ATLAS_DIR)/verdicts.tsv $(foreach r,$(ATLAS_RUNS),$(RUNS)/$(r)/trained) $(BBSIM)
	@echo "[$(call elapsed) s] collect atlas ($(words $(ATLAS_RUNS)) runs)"
	@(cd $(RUNS) && exec $(abspath $(BBSIM)) collect $(ATLAS_RUNS) --threads $(THREADS)) 2> $(ATLAS_DIR)/collect.log \
	    | awk -F'\t' -v profile=$(PROFILE) -v want=$(words $(ATLAS_RUNS)) "$$atlas_join_awk" $(ATLAS_DIR)/verdicts.tsv - \
	    > $@.tmp || { rm -f $@.tmp; cat $(ATLAS_DIR)/collect.log >&2; exit 1; }
	@mv -f $@.tmp $@

$(eval $(call figure,atlas,atlas,$(ATLAS_DIR)/atlas.tsv,$(ATLAS_DIR)/atlas.tsv,Phase diagram: Attn<s> and |Val<s>| / mean (1 layer)$(comma) residual peak after layer 0 (3 layers) over activation x optimizer x lr; marks: active-dormant head))

.PHONY: atlas
atlas: $(FIGS)/atlas.pdf $(FIGS)/atlas.page
