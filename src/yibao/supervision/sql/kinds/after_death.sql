-- 死亡后就医: a line dated after the person's recorded death
SELECT k.rule_code, l.fixmedins_code, l.mdtrt_id, l.line_id, '1' AS role,
       CAST(l.fee_day AS VARCHAR) AS observed, CAST(l.death_day AS VARCHAR) AS lim, k.k_id
FROM lines l
JOIN k_after_death k ON l.fee_day BETWEEN k.from_day AND k.to_day
WHERE l.death_day IS NOT NULL AND l.fee_day > l.death_day
