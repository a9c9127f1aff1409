# C17 (over-mixing): bbsim sensitivity on runs of the other fragments. Not built yet.
