"""Released migrations are never edited: a database that applied one refuses a changed file, so an edit
would stop every deployed fleet at start-up. Add a line here when a migration lands on main."""

from __future__ import annotations

from store.migrate import bundled_migrations

RELEASED = {
    "0001": "375dcfc9b986b5ebe755baf98297ac0f7d05c559832741dc00f428078078d2e5",
    "0002": "08ffbde894507dbf0eb8f9fe85bc5816df26d8794e71675f94cc61781b9d0df5",
    "0003": "b933266209c890ee5da8aa44bf2668c06193ba3737ac8e56ae6679e9c4416553",
    "0004": "72e1852696e69e0cf26c42c11b42d70a8b16e26a504c760aa48923e68dfa2284",
    "0005": "355f2727b53a21551002e9dbef92e1ad9776e8565b8a4346b13a822121e889f3",
    "0006": "50038cd056635b7e08e53dd05af70a8958f5b71d58c7dceaf5993242fb77c5fd",
    "0007": "fd9d7d7e46505fb131f26150daa985a31a62f0640dec4d02c600eb44d0c77543",
    "0008": "63649bb651f6558db61e04beb287328a02d30aed6c102b8b298a8ff5f1e1eb71",
    "0009": "a6c96d5e8fb72b8ed2ad5a1c59a7134846b08f715f9d899d0fad2bf2df0de166",
    "0010": "bd26016f7d8817a9f46eff2e9ddd2aaf027d7f8599afd3939aadba000c375931",
    "0011": "5c60aefba2ededb8fc9f78730506ad906d147cec020f1d58df6cd1a4bab80edc",
    "0012": "d327cd5c5347ac11bf82ab9589888f56c288138d89f807340680a215acbc6202",
    "0013": "3d40ac0f95072c46b5ccd1ac8c0d55ba800855caec1f1ba29c4a310a844cebed",
    "0014": "4d13fc44e7db1c88197f0e6b51b7d39d4cf047e07f8b1d6577a2897c2123eaf7",
    "0015": "64f8b0f0015ea57c1d91f6f9a1b54a31df468fd698d6c35125d8f74044930616",
    "0016": "11ded63907b612e9fd26cb924b1337d9faf95f9645b8e2282a6e6934023b7779",
    "0017": "f2a879e0afba20bb1651bd087611e5e3f6b537f70a1007e6ef8a5cb2f21ac369",
    "0018": "7c4523832fe102f7f8753cab27acd825ba680d3f21381b853237a40e5d3e67c8",
    "0019": "4dad48dc8d40417ea223b6259f11d5059d8fa8d99ee944f11310e0a01fa77a10",
    "0020": "9dc42ec4cfbba5d1d7c171c437d8e1832dba9ae3130325505aebafe9cab2a20c",
    "0021": "27491045607ac5c90a6f6b4aa7c6c2895af092be49d88c96121c591f0d414c51",
    "0022": "86adf9a73bcd07727ee18cead6273f430ca27e35916710e1450d9aa880bf1278",
    "0023": "93b08bde0507eb7e83c145e805c375df76bb8c993341d58f21ff8b70c0ad1e73",
    "0024": "b0eeb4a060fa72d3ae119118ca40900f0dd40d281e31636d7465e73d1d533922",
    "0025": "e7757ca6fafe9c9f931c8432cbc0f51699823a940ae27942df24ca71c93d1b8b",
    "0026": "406a7a2c42d58d4a8247e550020c38714c4927d2d79d7dbafb3d33a527d25387",
    "0027": "399e4ec68c3d996efb96c46629241b1a0ca165da365adf9237da0933116b79ef",
    "0028": "4a7f1215c2c9d4c8952d382659370ba9551e8d181a68b1bac70f6cfb835df4e8",
}


def test_released_migrations_are_unchanged() -> None:
    bundled = {m.version: m.checksum for m in bundled_migrations()}
    changed = {version for version, checksum in RELEASED.items() if bundled.get(version) != checksum}
    assert not changed, f"released migration(s) {sorted(changed)} were edited: write a new migration instead"


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in bundled_migrations()]
    assert versions == [f"{i:04d}" for i in range(1, len(versions) + 1)]
