-- 限适应症 / 超限定病种 / 耗材限疾病: none of the visit's diagnoses starts with one of the code's prefixes
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role, COALESCE(l.dise_codg, '') AS observed,
       MIN(k.dise_prefix) AS lim, MIN(k.k_id) AS k_id
FROM lines l
JOIN k_indication k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
LEFT JOIN diagnoses d ON d.mdtrt_id = l.mdtrt_id
     AND SUBSTRING(d.dise_codg, 1, LENGTH(k.dise_prefix)) = k.dise_prefix
GROUP BY k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, l.dise_codg
HAVING COUNT(d.mdtrt_id) = 0
