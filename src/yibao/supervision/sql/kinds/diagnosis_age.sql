-- 诊断与患者年龄不符: a diagnosis starting with dise_prefix outside its age range (visit-level, age on the
-- visit's first day; unit y years, d days). The words as in age_limit: "P59.900，患者 40岁" against "≤28天"
-- (the first characters' equality is implied by the prefix; it lets a planner hash-join codes with prefixes)
SELECT a.rule_code, a.fixmedins_code, a.mdtrt_id, NULL AS line_id, '1' AS role,
       a.dise_codg || '，患者 ' || CAST(a.age AS VARCHAR) || a.unit_text AS observed,
       CASE WHEN a.min_age IS NOT NULL AND a.max_age IS NOT NULL
            THEN CAST(a.min_age AS VARCHAR) || '–' || CAST(a.max_age AS VARCHAR)
            WHEN a.min_age IS NOT NULL THEN '≥' || CAST(a.min_age AS VARCHAR)
            ELSE '≤' || COALESCE(CAST(a.max_age AS VARCHAR), '') END || a.unit_text AS lim,
       a.k_id
FROM (
  SELECT k.rule_code, k.k_id, k.min_age, k.max_age, v.fixmedins_code, v.mdtrt_id, d.dise_codg,
         CASE WHEN k.unit = 'd' THEN v.age_days ELSE v.age_years END AS age,
         CASE WHEN k.unit = 'd' THEN '天' ELSE '岁' END AS unit_text
  FROM diagnoses d
  JOIN k_diagnosis_age k ON SUBSTRING(d.dise_codg, 1, 1) = SUBSTRING(k.dise_prefix, 1, 1)
       AND SUBSTRING(d.dise_codg, 1, LENGTH(k.dise_prefix)) = k.dise_prefix
  JOIN visits v ON v.mdtrt_id = d.mdtrt_id AND v.begn_day BETWEEN k.from_day AND k.to_day
) a
WHERE (a.min_age IS NOT NULL AND a.age < a.min_age) OR (a.max_age IS NOT NULL AND a.age > a.max_age)
