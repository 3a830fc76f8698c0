-- 手术操作编码与性别不符: a procedure starting with oprn_prefix on a person of the other sex (visit-level)
-- (the first characters' equality is implied by the prefix; it lets a planner hash-join codes with prefixes)
SELECT k.rule_code, v.fixmedins_code, v.mdtrt_id, NULL AS line_id, '1' AS role, o.oprn_codg AS observed,
       k.gend AS lim, k.k_id
FROM operations o
JOIN k_operation_sex k ON SUBSTRING(o.oprn_codg, 1, 1) = SUBSTRING(k.oprn_prefix, 1, 1)
     AND SUBSTRING(o.oprn_codg, 1, LENGTH(k.oprn_prefix)) = k.oprn_prefix
JOIN visits v ON v.mdtrt_id = o.mdtrt_id AND v.begn_day BETWEEN k.from_day AND k.to_day
WHERE v.gend IN ('1', '2') AND v.gend <> k.gend
