-- 无指征住院 (低标准入院): a closed stay of at most max_los days whose examination and test lines (knowledge:
-- chrgitm_type, e.g. 03 检查费, 04 化验费) take at least min_share_bp of its cost (visit-level)
SELECT s.rule_code, s.fixmedins_code, s.mdtrt_id, NULL AS line_id, '1' AS role,
       CAST(s.exam AS VARCHAR) || '/' || CAST(s.total AS VARCHAR) AS observed,
       CAST(s.min_share_bp AS VARCHAR) AS lim, NULL AS k_id
FROM (
  SELECT r.rule_code, r.min_share_bp, v.fixmedins_code, v.mdtrt_id, v.medfee AS total,
         SUM(CASE WHEN t.chrgitm_type IS NOT NULL THEN l.amt ELSE 0 END) AS exam
  FROM visits v
  JOIN (SELECT DISTINCT rule_code, min_share_bp, max_los, from_day, to_day FROM k_exam_dominated_stay) r
       ON v.begn_day BETWEEN r.from_day AND r.to_day
  JOIN lines l ON l.mdtrt_id = v.mdtrt_id
  LEFT JOIN k_exam_dominated_stay t ON t.rule_code = r.rule_code AND t.chrgitm_type = l.med_chrgitm_type
  WHERE v.inpatient = 1 AND v.end_day IS NOT NULL AND v.end_day - v.begn_day <= r.max_los
  GROUP BY r.rule_code, r.min_share_bp, v.fixmedins_code, v.mdtrt_id, v.medfee
) s
WHERE s.total > 0 AND s.exam * 10000 >= s.min_share_bp * s.total
