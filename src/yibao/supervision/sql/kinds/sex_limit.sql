-- 区分性别使用: the line's code is for one sex only (knowledge: code, gend)
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role, l.gend AS observed, k.gend AS lim, k.k_id
FROM lines l
JOIN k_sex_limit k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
WHERE l.gend IN ('1', '2') AND l.gend <> k.gend
