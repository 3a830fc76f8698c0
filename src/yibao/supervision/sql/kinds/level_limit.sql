-- 限医疗机构级别: the institution's grade (1 一级及以下, 2 二级, 3 三级) is below the code's minimum
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(l.inst_grade AS VARCHAR) AS observed, CAST(k.min_grade AS VARCHAR) AS lim, k.k_id
FROM lines l
JOIN k_level_limit k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
WHERE l.inst_grade < k.min_grade
