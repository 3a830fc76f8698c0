"""定点医药机构管理 (designated providers): agreement management from application to exit.

A medical institution or retail pharmacy that has operated for some months applies (申请), is accepted or
refused, evaluated by a panel on the region's scale (评估), signs an agreement for the service categories it
is granted (协商签约), performs under it (履约: settlement reads its designation on the service day), is
assessed every year (年度考核) and may be suspended or leave (退出), by its own application, by expiry or by
sanction.

The pure rules are here (the region's scheme as data, the state machines, the application checks and the
evaluation clock, the panel and its scores, the annual assessment, and "what was true on a day" over the
designation intervals); the use cases over the store are in :mod:`yibao.providers.service`.
"""
