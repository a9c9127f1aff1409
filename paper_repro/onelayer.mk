# The one-layer model (claims C1-C5, docs/figures.md#c1 .. #c5): one softmax run trained
# with AdamW (attention maps, value norms, interventions, dynamics over every checkpoint)
# and the same model with ReLU attention. bbsim claims section: onelayer.
#
# quick: d 64, N 128, batch 16 instead of the paper's d 256, N 256, batch 512. The sink
# and the value drain need no width; what the quick run must keep is the order of events
# of C4 (bigram first, then the sink) and a last decade of steps for the log t fit. On the
# paper's Shakespeare table, N 64 lets the sink form before the bigram is learned (its
# logit needs only log 32 to win a row of 64 keys), and a wider model learns the bigram
# sooner but the sink later; N 128 at the same tokens per step (batch 16) delays the sink
# past the bigram and still sinks by 4,000 steps (paper_repro/README.md has the numbers).
ifeq ($(PROFILE),paper)
ONELAYER_BASE := --layers 1 --dim 256 --seq 256 --batch 512 --data-seed 42 --init-seed 42 --ckpt 20,10000,1.02
ONELAYER_FLAGS := $(ONELAYER_BASE) --lr 3e-4 --steps 100000
ONELAYER_RELU := $(ONELAYER_BASE) --attn relu --lr 3e-3 --steps 20000
else ifeq ($(PROFILE),smoke)
ONELAYER_BASE := --layers 1 --dim 16 --seq 16 --batch 8 --ckpt 10,60,1 --eval-batch 32
ONELAYER_FLAGS := $(ONELAYER_BASE) --lr 3e-3 --steps 60
ONELAYER_RELU := $(ONELAYER_BASE) --attn relu --lr 3e-3 --steps 60
else
ONELAYER_BASE := --layers 1 --dim 64 --seq 128 --batch 16 --ckpt 10,600,1.05
ONELAYER_FLAGS := $(ONELAYER_BASE) --lr 1e-3 --steps 4000
ONELAYER_RELU := $(ONELAYER_BASE) --attn relu --lr 1e-3 --steps 4000
endif

$(eval $(call train,1L,$(ONELAYER_FLAGS) $(TASK_FLAGS),onelayer.mk))
$(eval $(call analyze,1L))
$(eval $(call dynamics,1L))
$(eval $(call intervene,1L,intervene,--set no_mlp --no-mlp 0 --set no_attn --no-attn 0))
$(eval $(call train,1L_relu,$(ONELAYER_RELU) $(TASK_FLAGS),onelayer.mk))
$(eval $(call analyze,1L_relu))
$(eval $(call dynamics,1L_relu))

A1 := $(RUNS)/1L/analysis
$(eval $(call figure,C1_attention_maps,attention_map,$(A1)/done,$(A1) active$(comma)dormant 0,One layer: attention of an active sequence (with triggers) and a dormant one; triggers marked))
# C2, C3, C4 and C5 show every seed (docs/figures.md#seeds): they read replicate lists (the
# Makefile's replicates), the first seed's numbers as bars and lines, every seed's as dots on
# the bars or as a band (min to max over the seeds) behind each line. C2's list names each
# seed's analysis directory (the seeds are evaluated on the same sequence).
$(foreach f,analysis intervene/interventions.tsv dynamics/dynamics.tsv,$(eval $(call replicates,1L,$(f))))
$(eval $(call replicates,1L_relu,dynamics/dynamics.tsv))
ONELAYER_OVER_SEEDS := $(filter-out 1,$(SEEDS_onelayer))
C3_SEEDS := $(if $(ONELAYER_OVER_SEEDS),; bars: first seed$(comma) dots: each of $(SEEDS_onelayer) seeds)
C4_SEEDS := $(if $(ONELAYER_OVER_SEEDS),; lines: first seed$(comma) light bands: range over $(SEEDS_onelayer) seeds)
$(eval $(call figure,C2_value_norms,value_bars,$(call replicates_deps,1L,analysis),$(call replicates_tsv,1L,analysis) active 0,One layer: value-state norms |Wo v_j| of one sequence; the <s> value is drained$(C3_SEEDS)))
$(eval $(call figure,C3_interventions,intervention_bars,$(call replicates_deps,1L,intervene/interventions.tsv),$(call replicates_tsv,1L,intervene/interventions.tsv),One layer: excess risk with the MLP or the attention removed; dashed: random guess$(C3_SEEDS)))
$(eval $(call figure,C4_dynamics,dynamics,$(call replicates_deps,1L,dynamics/dynamics.tsv),$(call replicates_tsv,1L,dynamics/dynamics.tsv) l0h0,One layer softmax: training dynamics normalised to their maxima; band: dlogit 10-90% over token types$(C4_SEEDS)))
$(eval $(call figure,C5_relu_dynamics,dynamics,$(call replicates_deps,1L_relu,dynamics/dynamics.tsv),$(call replicates_tsv,1L_relu,dynamics/dynamics.tsv) l0h0,One layer ReLU attention: the same dynamics; no sink forms$(C4_SEEDS)))
CLAIM_INPUTS += $(A1)/done $(RUNS)/1L/intervene/done $(RUNS)/1L/dynamics/done $(RUNS)/1L_relu/analysis/done
CLAIM_SECTIONS += onelayer
