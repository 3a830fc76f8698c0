-- 超限定单价收费: the unit price is above the catalogue's cap (pric_uplmt, micro-yuan)
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(l.pric AS VARCHAR) AS observed, CAST(l.pric_uplmt AS VARCHAR) AS lim, k.k_id
FROM lines l
JOIN k_price_cap k ON l.fee_day BETWEEN k.from_day AND k.to_day
WHERE l.pric_uplmt IS NOT NULL AND l.pric > l.pric_uplmt
