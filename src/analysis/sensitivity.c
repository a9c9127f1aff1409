/* Over-mixing: perturbation spread and the attention path-sum bound (sensitivity.h). */
#include "bbsim/sensitivity.h"
