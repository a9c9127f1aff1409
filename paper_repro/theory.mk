# Theory (docs/method.md#theory-checks; claims C10-C12): bbsim theory all decides its own claims into
# $(OUT)/theory/theory.tsv; bbsim claims copies those rows into claims.tsv.
# quick: the defaults of bbsim theory (~20 s on 2 cores). paper: the simplified model at
# the paper's budget (docs/figures.md#paper: adamw 0.03, 10k steps) with the paper's batch and N.
ifeq ($(PROFILE),paper)
THEORY_FLAGS := --simple-steps 10000 --simple-batch 512 --simple-seq 256 --simple-eval-batch 512
else ifeq ($(PROFILE),smoke)
THEORY_FLAGS := --simple-steps 40 --simple-batch 8 --simple-seq 16 --simple-eval-batch 32 --t-end 1e4 \
                --gd-steps 1000 --samples 200 --toy-steps 200 --cmp-from 10
else
THEORY_FLAGS :=
endif

# One job per seed: replicate 1 into $(OUT)/theory/ (the figures draw it), replicate k
# into $(OUT)/seedK/theory/ with --seed k (the reduced model's tables and the simplified
# model's initialisation and data; the toy is deterministic).
define theory_rep
RUNLIST_IDS += $(call rep_id,theory,$(1))
RUNLIST_$(call rep_id,theory,$(1)) := $(call rep_root,$(1))/theory/done
REPLICATE_INPUTS += $(call rep_root,$(1))/theory/done
$(call rep_root,$(1))/theory/done: $(BBSIM) $(HERE)/theory.mk | $(PLAN_FIRST)
	@echo "theory all (seed $(1))"
	@rm -rf $(call rep_root,$(1))/theory && mkdir -p $(call rep_root,$(1))
	@$(BBSIM) theory all $(THEORY_FLAGS) --seed $(1) --out $(call rep_root,$(1))/theory > $(call rep_root,$(1))/theory.log 2>&1 \
	    || { cat $(call rep_root,$(1))/theory.log >&2; rm -rf $(call rep_root,$(1))/theory; exit 1; }
	@mv -f $(call rep_root,$(1))/theory.log $(call rep_root,$(1))/theory/theory.log
	@touch $$@
endef
$(foreach k,$(call seed_list,theory),$(eval $(call theory_rep,$(k))))

$(eval $(call figure,C10_residual_peak_toy,theory_mtoy,$(OUT)/theory/done,$(OUT)/theory,Residual-peak toy: m over steps for Adam and SGD with the closed form of continuous ascent))
$(eval $(call figure,C11_reduced_dynamics,theory_reduced,$(OUT)/theory/done,$(OUT)/theory,Reduced model: y_v vs log t with the 1/2 log t line; |s_perp| and excess loss on log-log axes; ODE vs GD))
# C12 shows every seed (docs/figures.md#seeds): the first seed's lines, and behind each a
# band (min to max over the seeds at each step) from the replicate list of
# simple_dynamics.tsv, written as the Makefile's replicates writes a run's (no name passes
# through a shell; replaced only when its content changes).
THEORY_SEEDS_TSV := $(OUT)/theory.seeds.tsv
theory_rep_rows = $(foreach k,$(call seed_list,theory),$(k)$(tab)$(call rep_root,$(k))/theory/simple_dynamics.tsv)
$(THEORY_SEEDS_TSV): $(foreach k,$(call seed_list,theory),$(call rep_root,$(k))/theory/done) FORCE
	@$(file >$@.new,replicate$(tab)path$(newline)$(hash) the replicates of the theory checks (docs/figures.md$(hash)seeds): theory/simple_dynamics.tsv of each seed$(comma) the first seed first$(newline)$(subst $(space),$(newline),$(theory_rep_rows)))
	@if cmp -s '$@.new' '$@'; then rm -f '$@.new'; else mv -f '$@.new' '$@'; fi
THEORY_OVER_SEEDS := $(filter-out 1,$(SEEDS_theory))
C12_SEEDS := $(if $(THEORY_OVER_SEEDS),; lines: first seed$(comma) light bands: range over $(SEEDS_theory) seeds)
$(eval $(call figure,C12_simplified_model,theory_simple,$(THEORY_SEEDS_TSV) $(foreach k,$(call seed_list,theory),$(call rep_root,$(k))/theory/done),$(OUT)/theory $(THEORY_SEEDS_TSV),Simplified model: BOS logit a_v against log step; |Wo b|; Attn<s>; excess risks; AdamW vs SGD$(C12_SEEDS)))
CLAIM_SECTIONS += theory
