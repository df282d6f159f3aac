from leadstream.enrichment.campaign import CAMPAIGN_COLUMNS, campaign_from, clean, referrer_host

ADS_LANDING = (
    "https://shop.example/landing?gclid=Cj0KCQiA-1234567&utm_source=google&utm_medium=cpc&utm_campaign=spring"
    "&utm_term=plumber&utm_content=ad1&utm_adgroup=leaks&matchtype=e&network=g&placement=&adposition=1t1"
    "&devicemodel={devicemodel}&targetid=kwd-123&feeditemid=55&loc_interest_ms=9041082&loc_physical_ms=1000002"
)


def test_the_google_ads_template_fills_every_campaign_field_it_has() -> None:
    found = campaign_from({}, ADS_LANDING)
    assert found == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_term": "plumber",
        "utm_content": "ad1",
        "utm_adgroup": "leaks",
        "matchtype": "e",
        "network": "g",
        "adposition": "1t1",
        "target_id": "kwd-123",
        "feed_item_id": "55",
        "loc_interest_ms": "9041082",
        "loc_physical_ms": "1000002",
    }  # empty placement and the unexpanded {devicemodel} are not campaign values
    assert set(found) <= set(CAMPAIGN_COLUMNS)


def test_meta_fills_what_the_url_lacks_and_the_fragment_wins() -> None:
    found = campaign_from(
        {"utm_source": "meta-src", "utm_campaign": "from-meta", "adgroup": "g1", "other": "x"},
        "https://shop.example/#/offer?utm_campaign=from-fragment",
    )
    assert found == {"utm_source": "meta-src", "utm_campaign": "from-fragment", "utm_adgroup": "g1"}


def test_placeholders_are_not_values() -> None:
    for value in ["", " ", "null", "(not set)", "{keyword}", "%7Bkeyword%7D", "[%campaign%]", "N/A", None]:
        assert clean(value) is None, value
    assert clean("  spring ") == "spring"


def test_referrer_host() -> None:
    assert referrer_host("https://www.google.com/search?q=x") == "google.com"
    assert referrer_host("android-app://com.google") == ""
    assert referrer_host(None) == referrer_host("") == referrer_host("http://[::1") == ""
