-- 限年龄 / 限儿童 / 限新生儿 (mode allow: the age must be inside [min_age, max_age]) and 儿童禁用 / 老年人慎用
-- (mode forbid: it must not be); unit y = whole years, d = days, on the day of the fee. The words: the age as
-- "45岁" / "30天", the range as "≤17岁", "≥65岁" or "12–55岁"
SELECT a.rule_code, a.fixmedins_code, a.mdtrt_id, a.line_id, '1' AS role,
       CAST(a.age AS VARCHAR) || a.unit_text AS observed,
       CASE WHEN a.min_age IS NOT NULL AND a.max_age IS NOT NULL
            THEN CAST(a.min_age AS VARCHAR) || '–' || CAST(a.max_age AS VARCHAR)
            WHEN a.min_age IS NOT NULL THEN '≥' || CAST(a.min_age AS VARCHAR)
            ELSE '≤' || COALESCE(CAST(a.max_age AS VARCHAR), '') END || a.unit_text AS lim,
       a.k_id
FROM (
  SELECT k.rule_code, k.k_id, k.min_age, k.max_age, k.mode, l.fixmedins_code, l.mdtrt_id, l.line_id,
         CASE WHEN k.unit = 'd' THEN l.age_days ELSE l.age_years END AS age,
         CASE WHEN k.unit = 'd' THEN '天' ELSE '岁' END AS unit_text
  FROM lines l
  JOIN k_age_limit k ON k.code = l.med_list_codg AND l.fee_day BETWEEN k.from_day AND k.to_day
) a
WHERE (CASE WHEN (a.min_age IS NULL OR a.age >= a.min_age) AND (a.max_age IS NULL OR a.age <= a.max_age)
            THEN 'allow' ELSE 'forbid' END) <> a.mode
