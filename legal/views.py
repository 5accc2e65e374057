from django.http import Http404
from django.shortcuts import render

from .models import Document
from .selectors import document_current


def document(request, kind: str):
    if kind not in Document.Kind.values:
        raise Http404
    doc = document_current(kind=kind)
    if doc is None:
        raise Http404
    return render(request, "legal/document.html", {"document": doc})
