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

RUNLIST_IDS += theory
RUNLIST_theory := $(OUT)/theory/done
$(OUT)/theory/done: $(BBSIM) $(HERE)/theory.mk
	@echo "theory all"
	@rm -rf $(OUT)/theory && mkdir -p $(OUT)
	@$(BBSIM) theory all $(THEORY_FLAGS) --out $(OUT)/theory > $(OUT)/theory.log 2>&1 \
	    || { cat $(OUT)/theory.log >&2; rm -rf $(OUT)/theory; exit 1; }
	@mv -f $(OUT)/theory.log $(OUT)/theory/theory.log
	@touch $@

$(eval $(call figure,C10_residual_peak_toy,theory_mtoy,$(OUT)/theory/done,$(OUT)/theory,Residual-peak toy: m over steps for Adam and SGD with the closed form of continuous ascent))
$(eval $(call figure,C11_reduced_dynamics,theory_reduced,$(OUT)/theory/done,$(OUT)/theory,Reduced model: y_v vs log t with the 1/2 log t line; |s_perp| and excess loss on log-log axes; ODE vs GD))
$(eval $(call figure,C12_simplified_model,theory_simple,$(OUT)/theory/done,$(OUT)/theory,Simplified model: BOS logit a_v against log step; |Wo b|; Attn<s>; excess risks; AdamW vs SGD))
CLAIM_SECTIONS += theory
