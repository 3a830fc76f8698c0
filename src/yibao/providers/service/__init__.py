"""The use cases of agreement management (定点医药机构协议管理) over the store, one function per state change,
each writing its audit row. Each takes the caller's session (:func:`yibao.store.db.unit_of_work`), the actor
and the values; the rules are the pure modules of :mod:`yibao.providers`.

* :mod:`.applications` — submit (apply, change, suspend, terminate, renew), accept / refuse, supplement,
  withdraw, approve / reject, progress;
* :mod:`.evaluations` — appoint the panel, record a sheet, conclude;
* :mod:`.agreements` — sign, renew;
* :mod:`.status` — suspend, resume, terminate, expire;
* :mod:`.staff` — register a practitioner (医保医师备案), record a measure;
* :mod:`.designations` — the intervals settlement reads, rebuilt on every change;
* :mod:`.loading` — a loaded register's institutions given their agreements.
"""
