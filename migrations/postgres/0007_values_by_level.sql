-- The dashboard's most common question is one indicator's values over the areas of one
-- level under a parent, for one period. The primary key (indicator, area_code, ...)
-- answered it by walking every period and breakdown of every area under the parent
-- (3,600 index entries for Songkhla's 16 districts in the national benchmark); this
-- index reaches the 16 rows directly.
CREATE INDEX indicator_values_by_level ON indicator_values (indicator, period, breakdown, level, area_code);
