-- 分解收费: at least min_parts distinct components of one bundle (knowledge: bundle, code) billed on one day
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(g.parts AS VARCHAR) AS observed, k.bundle AS lim, k.k_id
FROM lines l
JOIN k_bundle_split k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
JOIN (
  SELECT k2.rule_code, k2.bundle, l2.mdtrt_id, l2.fee_day, COUNT(DISTINCT l2.med_list_codg) AS parts,
         MIN(k2.min_parts) AS min_parts
  FROM lines l2
  JOIN k_bundle_split k2 ON k2.code = l2.med_list_codg AND l2.fee_day BETWEEN k2.from_day AND k2.to_day
  GROUP BY k2.rule_code, k2.bundle, l2.mdtrt_id, l2.fee_day
) g ON g.rule_code = k.rule_code AND g.bundle = k.bundle AND g.mdtrt_id = l.mdtrt_id AND g.fee_day = l.fee_day
WHERE g.parts >= g.min_parts
