from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination


class FirstPageCountingPaginator(Paginator):
    """Django's paginator, except that the first page needs no COUNT query when it is not
    full: it reads one row more than a page, and if that row is not there, the rows it
    has are all of them. Most lists (a tenant's rooms, files, members) fit in one page."""

    def page(self, number):
        if str(number) != "1" or self.orphans or not self.allow_empty_first_page:
            return super().page(number)
        rows = list(self.object_list[: self.per_page + 1])
        if len(rows) <= self.per_page:
            self.__dict__["count"] = len(rows)  # Paginator.count is a cached_property
        return self._get_page(rows[: self.per_page], 1, self)  # a full page: count() on demand


class PagePagination(PageNumberPagination):
    """`?page=N&page_size=M` (M at most 200): {count, next, previous, results}."""

    django_paginator_class = FirstPageCountingPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
