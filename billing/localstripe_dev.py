"""Development and tests only: localstripe (a fake Stripe) served the way the panel needs.

Imported by ``manage.py run_localstripe`` and the test suite's localstripe process; it needs
no Django settings.

* localstripe pickles its whole store to one fixed /tmp file after every write; parallel
  runs would share it, so the store stays in memory.
* localstripe's mock of Stripe.js declares a top-level ``class Element``, which hides the
  DOM's ``Element`` from every other script on the page: Bootstrap's data API then throws
  "Cannot read properties of undefined (reading 'call')" on the pay page (four times). The
  script is served inside a block, so its declarations stay its own; ``Stripe`` is still
  assigned globally as before. Real Stripe.js has no such global.
"""

JS_PATH = "/js.stripe.com/v3/"


def localstripe_prepare() -> None:
    import localstripe.resources
    from aiohttp import web
    from localstripe import server

    localstripe.resources.Store.dump_to_disk = lambda self: None  # keep it in memory

    @web.middleware
    async def scoped_stripe_js(request, handler):
        response = await handler(request)
        if request.path != JS_PATH or response.status != 200:
            return response
        return web.Response(
            text="{\n" + response.text + "\n}\n", content_type="application/javascript"
        )

    server.app.middlewares.append(scoped_stripe_js)
