/* bbsim train --plan and make repro's plan: what a run costs, from its configuration
 * alone (train.h): the task and the model are built (cheap); the memory is
 * train_footprint's, the figure train_run checks before it starts. */
#include <omp.h>
#include <string.h>
#include "bbsim/train.h"

int train_plan(const TrainConfig *c, TrainPlan *p, BbError *err) {
    Task task;
    Model model;
    int rc;
    memset(p, 0, sizeof *p);
    if (c->threads > 0) omp_set_num_threads(c->threads); /* one workspace per thread (train_footprint) */
    if ((rc = task_build(&task, &c->task, err))) return rc;
    ModelConfig mc = c->model;
    train_model_config_from_task(&mc, &task);
    if ((rc = model_build(&model, &mc, err))) {
        task_free(&task);
        return rc;
    }
    const int T = c->task.seq, eval_B = c->eval_every > 0 ? c->task.eval_batch : 0;
    p->steps = c->steps;
    p->step_flop = 3.0 * model_forward_flops(&model.cfg, c->batch, T);
    p->train_flop = (double)c->steps * p->step_flop;
    if (eval_B) p->eval_flop = (double)(c->steps / c->eval_every) * model_forward_flops(&model.cfg, eval_B, T);
    p->ckpts = 1; /* step 0 */
    for (long s = 1; s <= c->steps; s++) p->ckpts += train_ckpt_scheduled(c, s) || s == c->steps;
    p->nparams = model.nparams;
    p->bytes = train_footprint(c, &model.cfg, 1, NULL);
    model_free(&model);
    task_free(&task);
    return BB_OK;
}
