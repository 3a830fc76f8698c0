-- 限科室使用 / 耗材与科室不符: the billing department's code must start with one of the allowed prefixes; a line
-- with no department (neither its own nor the visit's) is not judged (the missing field is a data-quality finding)
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role, l.dept_code AS observed,
       MIN(k.dept_prefix) AS lim, MIN(k.k_id) AS k_id
FROM lines l
JOIN k_dept_limit k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
WHERE l.dept_code IS NOT NULL AND l.dept_code <> ''
GROUP BY k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, l.dept_code
HAVING MAX(CASE WHEN SUBSTRING(l.dept_code, 1, LENGTH(k.dept_prefix)) = k.dept_prefix THEN 1 ELSE 0 END) = 0
