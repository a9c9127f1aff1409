/* Private to src/model/: the simplified model's passes (simple.c), called by
 * model_forward and model_backward in model.c, which copy the tokens into ws, check the
 * arguments, point the gradient buffer and do the cross-entropy. simple.c uses only the
 * types of model.h and the kernels, never model.c's functions. */
#ifndef BBSIM_MODEL_SIMPLE_H
#define BBSIM_MODEL_SIMPLE_H

#include "bbsim/model.h"

/* Fills s_v0, s_hidden, s_mlp, preatt[0], att[0] and logits. */
void simple_forward(const Model *m, Workspace *ws, int B, const Intervention *iv);
/* Accumulates into the gradient tensors that grads points at. */
void simple_backward(const Model *m, Workspace *ws, const ParamPtrs *grads, float dloss);

#endif
