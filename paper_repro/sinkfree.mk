# C18 (docs/figures.md#c18): the sink-free attentions of 2025-2026 on the BB task. Each
# variant trains the one-layer model of C1-C5 (`1L`'s flags) and the three-layer model of
# C6-C8 (`3L`'s flags) with only --attn changed; softmax's runs are `1L` and `3L`
# themselves (same OUT, same seeds), so every comparison is at the same budget, from the
# same initial draw of the shared weights (the variants' own tensors start at 0:
# docs/method.md#attention-activations). Included only with RELATED=1 (make
# repro-related). bbsim claims section: sinkfree (src/claims/sinkfree.c).
#
# quick: 4 x 1L (3.4 TFLOP each) + 4 x 3L (15.0 TFLOP each) = 73.7 TFLOP, about 8 min at
# a 204 GFLOP/s ceiling on two job slots, with the analyses.
# SF_ACTS: the variants, in the order of the figures and of the claims rows.
SF_ACTS := softmax-sink softpick gated-head gated-elem
# The claims compare seed k of a variant with seed k of 1L and 3L: the smallest of the
# three groups' seed counts (the runs of this file train SEEDS_sinkfree seeds).
SEEDS_OF_sinkfree := $(firstword $(shell printf '%s\n' $(SEEDS_sinkfree) $(SEEDS_onelayer) $(SEEDS_deep) | sort -n))

$(foreach a,$(SF_ACTS),$(eval $(call train,sf_1L_$(a),$(ONELAYER_FLAGS) --attn $(a) $(TASK_FLAGS),sinkfree.mk)))
$(foreach a,$(SF_ACTS),$(eval $(call train,sf_3L_$(a),$(DEEP_BASE) $(DEEP_3L) --attn $(a) $(TASK_FLAGS),sinkfree.mk)))
SF_RUNS := $(foreach a,$(SF_ACTS),sf_1L_$(a) sf_3L_$(a))
$(foreach r,$(SF_RUNS),$(eval $(call analyze,$(r))))

# The bars of C18 as (panel, label, value, replicate) rows (sinkfree_bars.awk), from every
# seed's analysis of softmax's runs (1L, 3L) and the variants': C18_sinkfree the
# phenomena (the 1-layer Attn<s> and value drain, the 3-layer later-layer Attn<s> and
# residual peak), C18_loss each model's final loss over softmax's.
SF_SEEDS := $(shell seq 1 $(SEEDS_OF_sinkfree))
sf_dir = $(call rep_root,$(1))/runs/$(2)/analysis
sf_models = $(call sf_dir,$(1),1L)/$(2) $(call sf_dir,$(1),3L)/$(2) \
    $(foreach a,$(SF_ACTS),$(call sf_dir,$(1),sf_1L_$(a))/$(2) $(call sf_dir,$(1),sf_3L_$(a))/$(2))
SF_BARS_IN := $(foreach k,$(SF_SEEDS),$(call sf_models,$(k),done)) $(HERE)/sinkfree_bars.awk
# $(call sf_bars,WHAT): C18_bars.tsv (WHAT phen) or C18_loss.tsv (loss), every seed's rows
sf_bars = { printf 'panel\tlabel\tvalue\treplicate\n'; $(foreach k,$(SF_SEEDS),awk -f $(HERE)/sinkfree_bars.awk \
    -v rep=$(k) -v what=$(1) -v labels='softmax $(SF_ACTS)' $(call sf_models,$(k),metrics.tsv) &&) true; } \
    > $@.tmp && mv -f $@.tmp $@
$(FIGS)/C18_bars.tsv: $(SF_BARS_IN)
	@mkdir -p $(FIGS)
	@$(call sf_bars,phen)
$(FIGS)/C18_loss.tsv: $(SF_BARS_IN)
	@mkdir -p $(FIGS)
	@$(call sf_bars,loss)
SF_DOTS := $(if $(filter-out 1,$(SEEDS_OF_sinkfree)),; dots: each of $(SEEDS_OF_sinkfree) seeds)
$(eval $(call figure,C18_sinkfree,bars,$(FIGS)/C18_bars.tsv,$(FIGS)/C18_bars.tsv,Sink-free attentions (1 and 3 layers at the budget of 1L and 3L): first-token share$(comma) value drain$(comma) later-layer sink and residual peak per attention$(or $(SF_DOTS),; the first seed)))
$(eval $(call figure,C18_loss,bars,$(FIGS)/C18_loss.tsv,$(FIGS)/C18_loss.tsv,Sink-free attentions: each model's final loss over softmax's (C18: within 5%)$(or $(SF_DOTS),; the first seed)))
CLAIM_INPUTS += $(foreach r,$(SF_RUNS),$(RUNS)/$(r)/analysis/done) $(A1)/done $(A3)/done
CLAIM_SECTIONS += sinkfree
