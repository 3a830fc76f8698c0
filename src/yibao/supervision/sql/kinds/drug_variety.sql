-- 药品种类超标: more than max_drugs distinct drugs (list_type starting with list_prefix) on one outpatient
-- day of a visit; every drug line of that day is at stake
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(g.n AS VARCHAR) AS observed, CAST(k.max_drugs AS VARCHAR) AS lim, k.k_id
FROM lines l
JOIN k_drug_variety k ON l.fee_day BETWEEN k.from_day AND k.to_day
     AND SUBSTRING(l.list_type, 1, LENGTH(k.list_prefix)) = k.list_prefix
JOIN (
  SELECT k2.rule_code, l2.mdtrt_id, l2.fee_day, COUNT(DISTINCT l2.med_list_codg) AS n
  FROM lines l2
  JOIN k_drug_variety k2 ON l2.fee_day BETWEEN k2.from_day AND k2.to_day
       AND SUBSTRING(l2.list_type, 1, LENGTH(k2.list_prefix)) = k2.list_prefix
  WHERE l2.inpatient = 0
  GROUP BY k2.rule_code, l2.mdtrt_id, l2.fee_day
) g ON g.rule_code = k.rule_code AND g.mdtrt_id = l.mdtrt_id AND g.fee_day = l.fee_day
WHERE l.inpatient = 0 AND g.n > k.max_drugs
