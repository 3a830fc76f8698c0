"""Chinese names: common surnames with rough weights and given-name characters (our own small lists)."""

from __future__ import annotations

import numpy as np

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
# heavier weights for the commonest surnames
_W = np.array(
    [7.1, 7.0, 6.7, 5.4, 4.5, 3.1, 2.2, 2.0, 1.9, 1.6, 1.5, 1.4, 1.3, 1.2, 1.2, 1.1, 1.1, 1.0, 1.0, 0.9]
    + [0.8] * 20
    + [0.55] * 30
    + [0.35] * (len(SURNAMES) - 70)
)
SURNAME_P = _W / _W.sum()
GIVEN_MALE = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国峰亮成志东文斌博晨子轩浩然嘉豪睿"
)
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英华慧巧美婷雪琳晶颖玲燕红梅兰凤洁琴云莉萍倩欣怡悦涵诗雨佳琪思彤梦瑶"


def names(rng: np.random.Generator, male: np.ndarray) -> list[str]:
    """One name per person: a surname and one or two given characters by gender."""
    n = male.size
    sur = rng.choice(len(SURNAMES), n, p=SURNAME_P)
    two = rng.random(n) < 0.7
    gm, gf = np.array(list(GIVEN_MALE)), np.array(list(GIVEN_FEMALE))
    a = np.where(male, gm[rng.integers(0, gm.size, n)], gf[rng.integers(0, gf.size, n)])
    b = np.where(male, gm[rng.integers(0, gm.size, n)], gf[rng.integers(0, gf.size, n)])
    return [SURNAMES[s] + x + (y if t else "") for s, x, y, t in zip(sur, a, b, two, strict=True)]
