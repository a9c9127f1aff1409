# make repro's explorers (docs/explore.md): the self-contained HTML page of bbsim explore for
# each run with figures (1L, 3L: replicate 1, the one the figures draw) in
# OUT/explore/<run>.html, named on the report's first page. No gnuplot needed.
EXPLORE_RUNS  := 1L 3L
EXPLORE_PAGES := $(foreach r,$(EXPLORE_RUNS),$(OUT)/explore/$(r).html)

$(OUT)/explore/%.html: $(RUNS)/%/trained $(BBSIM)
	@mkdir -p $(OUT)/explore
	@echo "[$(call elapsed) s] explore $*"
	@$(BBSIM) explore $(RUNS)/$* --out $@ --threads $(THREADS) --quiet

# The report's first page: where the explorers are (a page of text).
$(OUT)/explore/explore.page: $(HERE)/explore.mk
	@mkdir -p $(OUT)/explore
	@printf 'reset\nunset border\nunset tics\nunset key\nset label 1 "%s" at screen 0.5,0.55 center font "Sans,12"\nset label 2 "%s" at screen 0.5,0.47 center\nplot [0:1][0:1] NaN notitle\n' \
	    'Interactive explorers (open in a browser; one self-contained file each, no network):' \
	    '$(foreach r,$(EXPLORE_RUNS),explore/$(r).html)  (bbsim explore: attention maps over training, docs/explore.md)' \
	    > $@.tmp && mv -f $@.tmp $@

explore: $(EXPLORE_PAGES)
.PHONY: explore
