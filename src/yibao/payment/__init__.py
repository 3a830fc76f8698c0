"""Payment methods (支付方式): how the fund pays hospitals — here the CHS-DRG grouper and its rule packs.

Pure domain: nothing here imports the store, the API, the console or the configuration. ``packs`` registers
schemes and loads their tables; ``drg`` groups one case (医保结算清单) against a loaded pack; ``cases``
reads cases from CSV with a reason for every refused row.
"""
