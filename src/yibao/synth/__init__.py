"""The synthetic region generator (示例市人口与一年就诊): deterministic from a seed, any scale."""
