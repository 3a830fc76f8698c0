-- 重复收费 / 项目与耗材重复收费 / 相互作用 / 配伍禁忌: code billed together with with_code on the same day
-- (scope day) or in the same visit (scope visit); code's line is the violation, with_code's is involved
SELECT k.rule_code, a.fixmedins_code, a.mdtrt_id, a.line_id, '1' AS role, a.med_list_codg AS observed,
       k.with_code AS lim, k.k_id
FROM lines a
JOIN k_pair_conflict k ON k.code = a.med_list_codg AND a.fee_day BETWEEN k.from_day AND k.to_day
WHERE EXISTS (SELECT 1 FROM lines b WHERE b.mdtrt_id = a.mdtrt_id AND b.med_list_codg = k.with_code
                AND (k.scope = 'visit' OR b.fee_day = a.fee_day))
UNION ALL
SELECT k.rule_code, b.fixmedins_code, b.mdtrt_id, b.line_id, '2' AS role, b.med_list_codg AS observed,
       k.code AS lim, k.k_id
FROM lines b
JOIN k_pair_conflict k ON k.with_code = b.med_list_codg
WHERE EXISTS (SELECT 1 FROM lines a WHERE a.mdtrt_id = b.mdtrt_id AND a.med_list_codg = k.code
                AND a.fee_day BETWEEN k.from_day AND k.to_day
                AND (k.scope = 'visit' OR a.fee_day = b.fee_day))
