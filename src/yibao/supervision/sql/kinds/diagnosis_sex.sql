-- 诊断与患者性别不符: a diagnosis starting with dise_prefix on a person of the other sex (visit-level)
-- (the first characters' equality is implied by the prefix; it lets a planner hash-join codes with prefixes)
SELECT k.rule_code, v.fixmedins_code, v.mdtrt_id, NULL AS line_id, '1' AS role, d.dise_codg AS observed,
       k.gend AS lim, k.k_id
FROM diagnoses d
JOIN k_diagnosis_sex k ON SUBSTRING(d.dise_codg, 1, 1) = SUBSTRING(k.dise_prefix, 1, 1)
     AND SUBSTRING(d.dise_codg, 1, LENGTH(k.dise_prefix)) = k.dise_prefix
JOIN visits v ON v.mdtrt_id = d.mdtrt_id AND v.begn_day BETWEEN k.from_day AND k.to_day
WHERE v.gend IN ('1', '2') AND v.gend <> k.gend
