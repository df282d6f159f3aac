import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadstream.scoring.phone import normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # tel: URIs
        ("tel:+905551234567", "+905551234567"),
        ("tel:+1-201-555-0123", "+12015550123"),
        ("tel:+1 (201) 555.0123", "+12015550123"),
        ("TEL:+44 20 7946 0958", "+442079460958"),
        ("tel:05551234567", "05551234567"),
        ("tel:0090 555 123 4567", "+905551234567"),
        ("tel:+1-201-555-0123;ext=1234", "+12015550123"),
        ("tel:7042;phone-context=example.com", "7042"),
        ("tel:%2B90%20555%20123%2045%2067", "+905551234567"),
        ("tel:%2b971501234567", "+971501234567"),
        ("tel://+971501234567", "+971501234567"),
        ("  tel:+971 50 123 4567  ", "+971501234567"),
        # plain numbers
        ("+90 555 123 45 67", "+905551234567"),
        ("(+90) 555-123-45-67", "+905551234567"),
        ("0090 555 123 45 67", "+905551234567"),
        ("00971501234567", "+971501234567"),
        ("0555 123 45 67", "05551234567"),
        ("555/123.4567", "5551234567"),
        ("+971\u00a050\u00a0123\u00a04567", "+971501234567"),
        ("+971 50\u2013123\u20134567", "+971501234567"),
        ("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "+971501234567"),
        ("112", "112"),
        ("+905551234567", "+905551234567"),
        # WhatsApp numbers
        ("https://wa.me/905551234567", "whatsapp:+905551234567"),
        ("http://wa.me/905551234567", "whatsapp:+905551234567"),
        ("wa.me/905551234567", "whatsapp:+905551234567"),
        ("WA.ME/905551234567", "whatsapp:+905551234567"),
        ("https://wa.me/905551234567?text=Merhaba%20there", "whatsapp:+905551234567"),
        ("https://wa.me/+905551234567", "whatsapp:+905551234567"),
        ("https://wa.me/%2B905551234567", "whatsapp:+905551234567"),
        ("https://wa.me/00905551234567", "whatsapp:+905551234567"),
        ("https://wa.me/905551234567/", "whatsapp:+905551234567"),
        ("https://api.whatsapp.com/send?phone=905551234567", "whatsapp:+905551234567"),
        ("https://api.whatsapp.com/send/?phone=905551234567&text=hi&type=phone_number", "whatsapp:+905551234567"),
        ("api.whatsapp.com/send?phone=+905551234567", "whatsapp:+905551234567"),
        ("https://api.whatsapp.com/send?phone=%2B90%20555%20123%2045%2067", "whatsapp:+905551234567"),
        ("https://web.whatsapp.com/send?phone=971501234567", "whatsapp:+971501234567"),
        ("https://www.whatsapp.com/send?phone=971501234567", "whatsapp:+971501234567"),
        ("whatsapp:+905551234567", "whatsapp:+905551234567"),
        ("whatsapp:905551234567", "whatsapp:+905551234567"),
        ("WhatsApp:+90 555 123 45 67", "whatsapp:+905551234567"),
        ("whatsapp:%2B905551234567", "whatsapp:+905551234567"),
        ("whatsapp://send?phone=905551234567", "whatsapp:+905551234567"),
        ("whatsapp://send?phone=905551234567&text=hello", "whatsapp:+905551234567"),
        # WhatsApp group invites
        ("https://chat.whatsapp.com/AbCdEf123456", "whatsapp:joinchat/AbCdEf123456"),
        ("chat.whatsapp.com/AbCdEf123456", "whatsapp:joinchat/AbCdEf123456"),
        ("https://chat.whatsapp.com/AbCdEf123456?mode=r_c", "whatsapp:joinchat/AbCdEf123456"),
        ("https://chat.whatsapp.com/invite/AbCdEf123456", "whatsapp:joinchat/AbCdEf123456"),
        ("whatsapp:joinchat/AbCdEf123456", "whatsapp:joinchat/AbCdEf123456"),
        # anything else: kept, trimmed
        ("  Call us!  ", "Call us!"),
        ("", ""),
        ("   ", ""),
        ("tel:", "tel:"),
        ("tel:;ext=12", "tel:;ext=12"),
        ("tel:1-800-FLOWERS", "tel:1-800-FLOWERS"),
        ("tel:*123#", "tel:*123#"),
        ("+", "+"),
        ("00", "00"),
        ("---", "---"),
        ("+90 555 ext. 12", "+90 555 ext. 12"),
        ("555+123", "555+123"),
        ("++90555", "++90555"),
        ("https://example.com/contact", "https://example.com/contact"),
        ("https://example.com/tel:+905551234567", "https://example.com/tel:+905551234567"),
        ("https://wa.me/", "https://wa.me/"),
        ("https://wa.me/message/ABCDEF123", "https://wa.me/message/ABCDEF123"),
        ("https://wa.me/yourbrand", "https://wa.me/yourbrand"),
        ("https://api.whatsapp.com/send?phone=", "https://api.whatsapp.com/send?phone="),
        ("https://api.whatsapp.com/send?text=hi", "https://api.whatsapp.com/send?text=hi"),
        ("https://api.whatsapp.com/joinchat/AbC", "https://api.whatsapp.com/joinchat/AbC"),
        ("https://chat.whatsapp.com/", "https://chat.whatsapp.com/"),
        ("https://chat.whatsapp.com/bad-code!", "https://chat.whatsapp.com/bad-code!"),
        ("whatsapp://send?text=hello", "whatsapp://send?text=hello"),
        ("whatsapp:", "whatsapp:"),
        ("whatsapp:joinchat/", "whatsapp:joinchat/"),
        ("https://wa.me/[", "https://wa.me/["),
        ("mailto:sales@example.com", "mailto:sales@example.com"),
        (" sms:+905551234567 ", "sms:+905551234567"),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_same_number_in_every_phone_form_is_one_value() -> None:
    forms = ["tel:+971-50-123-4567", "+971 50 123 4567", "00971501234567", "tel:%2B971501234567", "(+971) 50.123.4567"]
    assert {normalize_phone(f) for f in forms} == {"+971501234567"}


def test_same_number_in_every_whatsapp_form_is_one_value() -> None:
    forms = [
        "https://wa.me/971501234567",
        "wa.me/+971501234567",
        "https://api.whatsapp.com/send?phone=971501234567",
        "whatsapp:+971501234567",
        "whatsapp://send?phone=00971501234567",
    ]
    assert {normalize_phone(f) for f in forms} == {"whatsapp:+971501234567"}


@given(st.text(max_size=80))
def test_normalising_twice_changes_nothing(raw: str) -> None:
    once = normalize_phone(raw)
    assert normalize_phone(once) == once


@given(
    st.sampled_from(["tel:", "", "https://wa.me/", "whatsapp:", "https://api.whatsapp.com/send?phone="]),
    st.text(alphabet="0123456789+-() .%2Bx;=", max_size=30),
)
def test_never_raises_on_number_like_input(prefix: str, body: str) -> None:
    result = normalize_phone(prefix + body)
    assert result == result.strip()
