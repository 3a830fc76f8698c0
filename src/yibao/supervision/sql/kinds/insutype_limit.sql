-- 限工伤保险 / 限生育保险: the visit's insurance type must be one of the code's rows (knowledge: code, insutype)
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role, l.insutype AS observed,
       MIN(k.insutype) AS lim, MIN(k.k_id) AS k_id
FROM lines l
JOIN k_insutype_limit k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
GROUP BY k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, l.insutype
HAVING MAX(CASE WHEN k.insutype = l.insutype THEN 1 ELSE 0 END) = 0
