# Over-mixing (claim C17, docs/figures.md#c17, docs/method.md#over-mixing-sensitivity):
# bbsim sensitivity on two trained runs of the other fragments, the 3-layer AdamW run 3L
# (deep.mk) and the one-layer run 1L (onelayer.mk); no training of its own. For each: the
# perturbation spread at the last position with the sink intact and with attention to the
# first token removed, and the exact Jacobian against the path-sum bound. bbsim claims
# section: overmixing.
#
# Cost: one reverse pass per residual coordinate and sequence (C of them) plus
# 2 x R x (N - 1) perturbed forwards per sequence; quick: about 2 s per run on one thread.
ifeq ($(PROFILE),smoke)
SENS_FLAGS := --seqs 2 --replace 2
else
SENS_FLAGS := --seqs 8 --replace 3
endif
SENS_RUNS := 3L 1L

# $(call sensitivity,NAME): bbsim sensitivity into RUNS/NAME/sensitivity/, for every
# replicate of run NAME.
sensitivity = $(call per_rep,run_step,$(1),sensitivity,sensitivity,$(SENS_FLAGS),$(HERE)/overmixing.mk)
$(foreach r,$(SENS_RUNS),$(eval $(call sensitivity,$(r))))

SENS_CAPTION = Run $(1): spread of one replaced token (solid: sink intact; dashed: BOS attention removed); exact Jacobian and its bound vs the path sum
$(eval $(call figure,C17_overmixing_3L,sensitivity,$(RUNS)/3L/sensitivity/done,$(RUNS)/3L/sensitivity 3L,$(call SENS_CAPTION,3L)))
$(eval $(call figure,C17_overmixing_1L,sensitivity,$(RUNS)/1L/sensitivity/done,$(RUNS)/1L/sensitivity 1L,$(call SENS_CAPTION,1L)))
CLAIM_INPUTS += $(foreach r,$(SENS_RUNS),$(RUNS)/$(r)/sensitivity/done)
CLAIM_SECTIONS += overmixing
