-- 限就医方式: the visit's med_type must start with one of the code's allowed prefixes (2 = every 住院 type)
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role, l.med_type AS observed,
       MIN(k.med_type) AS lim, MIN(k.k_id) AS k_id
FROM lines l
JOIN k_visit_type_limit k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
GROUP BY k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, l.med_type
HAVING MAX(CASE WHEN SUBSTRING(l.med_type, 1, LENGTH(k.med_type)) = k.med_type THEN 1 ELSE 0 END) = 0
