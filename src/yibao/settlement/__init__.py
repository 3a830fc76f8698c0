"""One-stop settlement (一站式结算): the vectorized kernel and its inputs and outputs."""
