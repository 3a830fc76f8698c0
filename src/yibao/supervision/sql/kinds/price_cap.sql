-- 超限定单价收费: a unit price above the price list's maximum for the code (max_pric, micro-yuan), per
-- institution grade when the row names one. The list is the pricing authority's (政府指导价), not the
-- catalogue's payment cap (pric_uplmt_amt: above it the patient pays, which is no violation)
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(l.pric AS VARCHAR) AS observed, CAST(k.max_pric AS VARCHAR) AS lim, k.k_id
FROM lines l
JOIN k_price_cap k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
     AND (k.inst_grade IS NULL OR k.inst_grade = l.inst_grade)
WHERE l.pric > k.max_pric
