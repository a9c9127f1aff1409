# C15-C16 (related work: activation, learning-rate, weight-decay, context-length, depth
# and packing sweeps). Included only with RELATED=1 (make repro-related). Not built yet.
