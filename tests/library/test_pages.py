"""The library's pages: who sees them, the article page, collections, notes, sharing, exports,
the drug page's link and the operator's import page."""

from __future__ import annotations

import pytest

from cordee.audit.models import AuditEntry
from cordee.library.models import Collection, CollectionItem, ImportRun, Note
from cordee.messaging.models import Conversation, Message
from tests.conftest import without_csrf

PMID = 990000001


@pytest.fixture
def alices_collection(alice, demo_articles):
    collection = Collection.objects.create(owner=alice, name="IC")
    CollectionItem.objects.create(collection=collection, article_id=demo_articles and _article_id(PMID))
    return collection


def _article_id(pmid: int) -> int:
    from cordee.library.models import Article

    return Article.objects.get(pmid=pmid).pk


def test_pages_need_a_login(client, db):
    for url in ("/bibliotheque/", "/bibliotheque/resultats/?q=x", f"/bibliotheque/articles/{PMID}/",
                "/bibliotheque/collections/", "/bibliotheque/collections/1/", "/bibliotheque/imports/"):  # fmt: skip
        assert client.get(url).status_code == 302
    assert client.post(f"/bibliotheque/articles/{PMID}/enregistrer/").status_code == 302


def test_patients_do_not_see_the_library(client_for, paula, demo_articles):
    client = client_for(paula)
    assert client.get("/bibliotheque/").status_code == 404
    assert client.get(f"/bibliotheque/articles/{PMID}/").status_code == 404


def test_search_page_and_results_fragment(client_for, alice, demo_articles):
    client = client_for(alice)
    page = client.get("/bibliotheque/?q=metformine").content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in page and "<script>" not in page
    assert "/bibliotheque/articles/990000002/" in page and "<i>chronic kidney disease</i>" in page
    fragment = client.get("/bibliotheque/resultats/?q=heart+failure&type=Review").content.decode()
    assert "990000001" in fragment and "990000003" not in fragment
    assert "<html" not in fragment


@pytest.mark.parametrize(
    "query",
    [
        "q=",
        "q=" + "x" * 10000,
        "q=%22%2A-NEAR",
        "q=heart&from=20x0",
        "q=heart&lang=klingon",
        "q=a&journal=" + "j" * 300,
    ],
)
def test_bad_searches_answer_a_message(client_for, alice, demo_articles, query):
    client = client_for(alice)
    page = client.get(f"/bibliotheque/?{query}")
    assert page.status_code in (200, 400)
    fragment = client.get(f"/bibliotheque/resultats/?{query}")
    assert fragment.status_code == 200
    if page.status_code == 400:
        assert 'role="alert"' in fragment.content.decode()


def test_the_article_page(client_for, alice, demo_articles):
    html = client_for(alice).get(f"/bibliotheque/articles/{PMID}/").content.decode()
    for expected in (
        "https://pubmed.ncbi.nlm.nih.gov/990000001/", "https://doi.org/10.9999/cordee.demo.1",
        "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC9900001/", "HbA<sub>1c</sub>", "0000-0002-1825-0097",
        "Martin C, Nguyen P. Sodium-glucose cotransporter 2 inhibitors in chronic heart failure: a narrative review. "
        "Eur J Heart Fail. 2020 Jun;12(4):455-67. doi:10.9999/cordee.demo.1. PMID: 990000001.",
        'data-copy="citation"', "library/library.js", "/bibliotheque/articles/990000003/",  # related by major MeSH
    ):  # fmt: skip
        assert expected in html, expected
    assert client_for(alice).get("/bibliotheque/articles/123/").status_code == 404
    assert client_for(alice).get("/bibliotheque/articles/junk/").status_code == 404


def test_save_to_a_new_collection_then_to_it(client_for, alice, demo_articles):
    client = client_for(alice)
    response = client.post(f"/bibliotheque/articles/{PMID}/enregistrer/", {"collection": "new", "name": "Cardio"})
    assert response.status_code == 302
    collection = Collection.objects.get(owner=alice, name="Cardio")
    assert collection.items.get().article.pmid == PMID
    client.post("/bibliotheque/articles/990000003/enregistrer/", {"collection": collection.pk})
    assert collection.items.count() == 2
    actions = list(
        AuditEntry.objects.filter(actor_id=alice.pk, action__startswith="library.").values_list("action", flat=True)
    )
    assert actions.count("library.collection.item_added") == 2 and "library.collection.created" in actions
    html = client.get(f"/bibliotheque/collections/{collection.pk}/").content.decode()
    assert "990000003" in html and "export.ris" in html


def test_an_outsider_gets_the_404_of_a_missing_collection_audited(client_for, charlie, alices_collection):
    client = client_for(charlie)
    missing = client.get("/bibliotheque/collections/999999/")
    theirs = client.get(f"/bibliotheque/collections/{alices_collection.pk}/")
    assert missing.status_code == theirs.status_code == 404
    assert without_csrf(missing.content) == without_csrf(theirs.content)
    assert client.get(f"/bibliotheque/collections/{alices_collection.pk}/export.ris").status_code == 404
    response = client.post(f"/bibliotheque/articles/{PMID}/enregistrer/", {"collection": alices_collection.pk})
    assert response.status_code == 404 and alices_collection.items.count() == 1
    assert client.post(f"/bibliotheque/collections/{alices_collection.pk}/supprimer/").status_code == 404
    refusals = AuditEntry.objects.filter(actor_id=charlie.pk, target_type="library.collection")
    assert refusals.count() >= 4


def test_notes_are_private_and_encrypted(client_for, alice, bob, demo_articles):
    client = client_for(alice)
    client.post(f"/bibliotheque/articles/{PMID}/note/", {"note": "À discuter avec Mme X"})
    note = Note.objects.get()
    assert note.text == "À discuter avec Mme X"
    raw = Note.objects.values_list("text", flat=True).get()
    assert b"Mme X" not in bytes(raw.ciphertext)
    assert "Mme X" in client.get(f"/bibliotheque/articles/{PMID}/").content.decode()
    assert "Mme X" not in client_for(bob).get(f"/bibliotheque/articles/{PMID}/").content.decode()
    assert AuditEntry.objects.filter(action="library.note.saved", actor_id=alice.pk).exists()
    assert "Mme X" not in str(list(AuditEntry.objects.values_list("details", flat=True)))
    client_for(alice).post(f"/bibliotheque/articles/{PMID}/note/", {"note": ""})
    assert not Note.objects.exists()
    assert client_for(alice).post(f"/bibliotheque/articles/{PMID}/note/", {"note": "x" * 10001}).status_code == 302
    assert not Note.objects.exists()


def test_share_into_a_conversation_as_a_card(client_for, alice, bob, demo_articles):
    direct = Conversation.objects.get(kind=Conversation.Kind.DIRECT, members__user=alice)
    client = client_for(alice)
    assert f'value="{direct.pk}"' in client.get(f"/bibliotheque/articles/{PMID}/").content.decode()
    response = client.post(f"/bibliotheque/articles/{PMID}/partager/", {"conversation": direct.pk, "note": "À lire"})
    assert response.status_code == 302 and response["Location"] == f"/messagerie/{direct.pk}/"
    message = Message.objects.filter(conversation=direct, sender=alice).latest("seq")
    card = __import__("json").loads(message.card)
    assert card["kind"] == "reference" and card["url"] == f"/bibliotheque/articles/{PMID}/" and message.body == "À lire"
    sent = AuditEntry.objects.get(action="message.sent", actor_id=alice.pk)
    assert sent.details["card"] == "reference"
    listed = client_for(bob).get(f"/api/messaging/conversations/{direct.pk}/messages").json()
    assert listed["messages"][-1]["card"]["title"].startswith("Sodium-glucose")


def test_sharing_into_someone_else_s_conversation_is_refused(client_for, charlie, alice, demo_articles):
    direct = Conversation.objects.get(kind=Conversation.Kind.DIRECT, members__user=alice)
    response = client_for(charlie).post(f"/bibliotheque/articles/{PMID}/partager/", {"conversation": direct.pk})
    assert response.status_code == 404 and not Message.objects.filter(sender=charlie).exists()


def test_exports(client_for, alice, alices_collection):
    client = client_for(alice)
    ris = client.get(f"/bibliotheque/collections/{alices_collection.pk}/export.ris")
    assert ris["Content-Type"].startswith("application/x-research-info-systems")
    text = ris.content.decode()
    assert "TY  - JOUR\r\n" in text and "AU  - Martin, Claire" in text and "DO  - 10.9999/cordee.demo.1" in text
    assert text.rstrip().endswith("ER  -")
    bib = client.get(f"/bibliotheque/collections/{alices_collection.pk}/export.bib").content.decode()
    assert bib.startswith("@article{martin2020pmid990000001,") and "author = {Martin, Claire and Nguyen, Paul}" in bib
    assert client.get(f"/bibliotheque/collections/{alices_collection.pk}/export.exe").status_code == 404


def test_bibtex_escapes_what_would_break_an_entry():
    from cordee.library.cite import bibtex
    from cordee.library.models import Article

    article = Article(pmid=1, title="A {broken} title with 50% & $x_1$ \\end", authors=[], year=2020)
    entry = bibtex([article])
    assert "\\{broken\\}" in entry and "50\\%" in entry and "\\&" in entry and "\\$x\\_1\\$" in entry
    assert entry.count("{") - entry.count("\\{") == entry.count("}") - entry.count("\\}")


def test_the_drug_page_links_to_articles_on_its_substances(client_for, alice, demo_articles):
    from cordee.drugs.models import Composition, Product

    Product.objects.create(cis="60000001", name="METFORMINE DEMO 500 mg, comprimé")
    Composition.objects.create(cis="60000001", substance_name="CHLORHYDRATE DE METFORMINE", nature="SA")
    client = client_for(alice)
    assert "/bibliotheque/medicament/60000001/" in client.get("/medicaments/60000001/").content.decode()
    html = client.get("/bibliotheque/medicament/60000001/").content.decode()
    assert "990000002" in html and "990000010" in html and "990000001" not in html
    assert client.get("/bibliotheque/medicament/99999999/").status_code == 404


def test_the_import_page_is_the_operator_s(
    client_for, alice, ada, operator, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.library.conftest import ARTICLES

    settings.LIBRARY_IMPORT_DIR = tmp_path / "pubmed"
    (tmp_path / "pubmed" / "baseline").mkdir(parents=True)
    (tmp_path / "pubmed" / "baseline" / "articles.xml").write_bytes(ARTICLES.read_bytes())
    for who in (alice, ada):
        assert client_for(who).get("/bibliotheque/imports/").status_code == 404
        assert (
            client_for(who).post("/bibliotheque/imports/lancer/", {"files": ["baseline/articles.xml"]}).status_code
            == 404
        )
    client = client_for(operator)
    assert "baseline/articles.xml" in client.get("/bibliotheque/imports/").content.decode()
    assert client.post("/bibliotheque/imports/lancer/", {"files": ["../../etc/passwd"]}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/bibliotheque/imports/lancer/", {"files": ["baseline/articles.xml"]})
    run = ImportRun.objects.get()
    assert response["Location"] == f"/bibliotheque/imports/{run.pk}/"
    run.refresh_from_db()
    assert run.status == "done" and run.source == "page" and run.report["files"][0]["created"] == 5
    assert AuditEntry.objects.get(action="library.import.requested").actor_id == operator.pk
    page = client.get(f"/bibliotheque/imports/{run.pk}/").content.decode()
    assert "articles.xml" in page and "hx-trigger" not in page
    assert client_for(alice).get(f"/bibliotheque/imports/{run.pk}/").status_code == 404
    assert AuditEntry.objects.filter(actor_id=alice.pk, target_type="library.importrun").exists()


def test_progress_is_polled_while_running(client_for, operator):
    run = ImportRun.objects.create(status="running", files_total=4, files_done=1, current_file="pubmed25n0001.xml.gz")
    fragment = client_for(operator).get(f"/bibliotheque/imports/{run.pk}/progression/").content.decode()
    assert 'hx-trigger="every 2s"' in fragment and 'value="25"' in fragment and "pubmed25n0001.xml.gz" in fragment


def test_starting_an_import_needs_a_recent_authentication(client_for, operator, settings, tmp_path):
    settings.LIBRARY_IMPORT_DIR = tmp_path
    client = client_for(operator)
    session = client.session
    methods = session["account_authentication_methods"]
    for method in methods:  # signed in long ago: no recent authentication
        method["at"] -= settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1
    session["account_authentication_methods"] = methods
    session.save()
    response = client.post("/bibliotheque/imports/lancer/", {"files": ["x.xml"]})
    assert response.status_code == 302 and "reauthenticate" in response["Location"]


def test_the_shell_lists_the_module_and_searches_articles(client_for, alice, demo_articles):
    from cordee.lib import modules

    assert "bibliotheque" in modules.default_modules("professional")
    hits = modules.searches_for(alice)
    library = next(s for s in hits if s.key == "bibliotheque")
    found = library.search(None, "metformine")  # type: ignore[arg-type]  # the request is not read
    assert {h.url for h in found} == {"/bibliotheque/articles/990000002/", "/bibliotheque/articles/990000010/"}
    assert library.search(None, "") == []  # type: ignore[arg-type]


def test_the_demo_seeds_the_library(db):
    from cordee import demo
    from cordee.library.models import Article

    users = demo.seed(with_documents=True)
    assert Article.objects.count() == 5
    assert Collection.objects.get(owner=users["alice"]).items.count() == 1
    demo.seed(with_documents=True)  # idempotent
    assert Article.objects.count() == 5
