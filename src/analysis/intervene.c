/* The tables of `bbsim intervene` (docs/method.md#interventions): interventions.tsv, the
 * risks per set of interventions and domain beside the full model's, and
 * intervention_metrics.tsv, every metric of bbsim analyze under each set. */
#include <math.h>
#include <stdlib.h>
#include "bbsim/analysis.h"
#include "bbsim/tsv.h"

const char *analysis_set_name(const InterventionSet *sets, int s) { return s ? sets[s - 1].name : "full"; }

int analysis_write_interventions(const char *dir, const Run *run, int B, const AnalysisConfig *ac,
                                 const InterventionSet *sets, int nsets, const Analysis *res, int ndom,
                                 BbError *err) {
    TsvWriter w;
    int rc = tsv_begin(&w, dir, "interventions.tsv",
                       "intervention\tdomain\tpositions\toracle_risk\trisk_full\trisk\tdelta_risk\texcess_full\t"
                       "excess\tuniform_risk\tspec",
                       err);
    if (rc) return rc;
    analysis_header(w.f, run, run->step, B, ac);
    fputs("# risk = mean CE(p*, model) over the domain (trigger = backcopy, nontrigger = bigram positions);\n"
          "# *_full: the model without intervention on the same batch; delta_risk = risk - risk_full;\n"
          "# uniform_risk = ln V, the risk of a uniform guess over the V outputs (its excess: uniform_risk - oracle_risk)\n",
          w.f);
    const Risks *f = &res[0].risks;
    for (int s = 0; s <= nsets; s++) {
        const Risks *r = &res[s].risks;
        for (int d = 0; d < ndom; d++) {
            fprintf(w.f, "%s\t%s\t%ld", analysis_set_name(sets, s), metrics_domain_names[d], r->n[d]);
            bb_put_fields(w.f, 7, (double[]){f->oracle[d], f->risk[d], r->risk[d], r->risk[d] - f->risk[d],
                                              f->excess[d], r->excess[d], log((double)run->model.cfg.V)});
            fprintf(w.f, "\t%s\n", s ? sets[s - 1].spec : "-");
        }
    }
    return tsv_commit(&w, err);
}

int analysis_write_intervention_metrics(const char *dir, const Run *run, int B, const AnalysisConfig *ac,
                                        const InterventionSet *sets, int nsets, const Analysis *res, int has_tokens,
                                        BbError *err) {
    TsvWriter w;
    int rc = tsv_begin(&w, dir, "intervention_metrics.tsv", "intervention\tlayer\thead\tmetric\tvalue", err);
    if (rc) return rc;
    analysis_header(w.f, run, run->step, B, ac);
    fputs("# metrics as in bbsim analyze's metrics.tsv, measured with each intervention applied\n", w.f);
    const int cap = 32 + BB_MAXL * (4 + BB_MAXH * 24);
    MetricEntry *e = bb_malloc((size_t)cap * sizeof *e);
    for (int s = 0; s <= nsets; s++) {
        int n = analysis_metric_entries(&res[s], &run->model, has_tokens, e, cap);
        BB_CHECK(n <= cap);
        for (int k = 0; k < n; k++) {
            fprintf(w.f, "%s\t%d\t%d\t%s", analysis_set_name(sets, s), e[k].layer, e[k].head, e[k].name);
            bb_put_fields(w.f, 1, &e[k].value);
            fputc('\n', w.f);
        }
    }
    free(e);
    return tsv_commit(&w, err);
}
