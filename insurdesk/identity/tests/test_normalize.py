from insurdesk.identity.normalize import clean_code, to_halfwidth


def test_to_halfwidth_maps_full_width_ascii_and_ideographic_space():
    assert to_halfwidth("ＡＢＣ１２３！～\u3000中") == "ABC123!~ 中"


def test_clean_code_strips_spaces_and_dashes_and_uppercases():
    assert clean_code(" 110105-1990\u00a00307\u3000123x\u200b ") == "110105199003071239"[:17] + "X"
    assert clean_code("ｍａ０１－ａｂｃｄ") == "MA01ABCD"
