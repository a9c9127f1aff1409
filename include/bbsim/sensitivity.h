/* Over-mixing (docs/method.md#sensitivity, claim C17): how much a change of one input
 * token moves later representations, and the attention path-sum bound. Not built yet. */
#ifndef BBSIM_SENSITIVITY_H
#define BBSIM_SENSITIVITY_H

#endif
