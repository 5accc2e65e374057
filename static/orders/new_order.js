// New Order: pick a service (by category or search), see its description and limits, and
// watch the charge as you type. The server computes the charge again and stays the judge;
// the page works without this script (every field shows, the server says what is wrong).
(function () {
  "use strict";
  var dataElement = document.getElementById("services-data");
  var form = document.getElementById("new-order");
  if (!dataElement || !form) {
    return;
  }
  var services = JSON.parse(dataElement.textContent);
  var byId = {};
  services.forEach(function (service) {
    byId[String(service.id)] = service;
  });

  var category = document.getElementById("id_category");
  var search = document.getElementById("id_search");
  var select = document.getElementById("id_service");
  var quantity = document.getElementById("id_quantity");
  var comments = document.getElementById("id_comments");
  var dripfeed = document.getElementById("id_dripfeed");
  var runs = document.getElementById("id_runs");
  var charge = document.getElementById("charge");
  var chargeDetail = document.getElementById("charge-detail");
  var balanceWarning = document.getElementById("balance-warning");
  // The page's texts in the customer's language (data-text-* on the form, from the template);
  // "{name}" in a text is filled in from values.
  function text(name, english, values) {
    var template = form.dataset[name] || english;
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return values && key in values ? String(values[key]) : whole;
    });
  }
  var categoryNames = {};
  Array.prototype.forEach.call(category.options, function (option) {
    categoryNames[option.value] = option.textContent;
  });

  // Money as integer hundred-thousandths (the ledger's 5 places), so no float rounding.
  var PLACES = 5;
  function toUnits(text) {
    var parts = String(text).split(".");
    var fraction = (parts[1] || "").padEnd(PLACES, "0").slice(0, PLACES);
    return BigInt(parts[0] || "0") * BigInt(Math.pow(10, PLACES)) + BigInt(fraction);
  }
  // The panel's one display rule (billing.money.usd_text): whole cents as $12.50, other
  // amounts to the ledger's places without trailing zeros ($0.315), thousands grouped,
  // negatives with U+2212.
  function formatUnits(units) {
    var sign = units < 0n ? "\u2212" : "";
    var text = (units < 0n ? -units : units).toString().padStart(PLACES + 1, "0");
    var whole = text.slice(0, -PLACES).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var fraction = text.slice(-PLACES).replace(/0+$/, "");
    return sign + "$" + whole + "." + fraction.padEnd(2, "0");
  }
  function usd(text) {
    return formatUnits(toUnits(text));
  }
  // R-ORD-2: rate x quantity / 1000, half up; a Package costs its rate.
  function chargeUnits(service, count) {
    var rate = toUnits(service.rate);
    if (service.type === "Package") {
      return rate;
    }
    return (rate * BigInt(count) + 500n) / 1000n;
  }

  function show(id, visible) {
    document.getElementById(id).classList.toggle("d-none", !visible);
  }

  function commentLines() {
    return comments.value.split(/\r?\n/).filter(function (line) {
      return line.trim() !== "";
    }).length;
  }

  function wholeNumber(input) {
    var text = input.value.trim();
    return /^\d+$/.test(text) ? parseInt(text, 10) : 0;
  }

  function selected() {
    return byId[select.value] || null;
  }

  function optionLabel(service) {
    return "#" + service.id + " " + service.name + " — " + usd(service.rate);
  }

  // Rebuild the service list from the category and the search words; keep the choice if
  // it still matches.
  function filterServices() {
    var current = select.value;
    var wanted = category.value;
    var words = search.value.trim().toLowerCase();
    var groups = {};
    var order = [];
    services.forEach(function (service) {
      if (wanted && String(service.category) !== wanted) {
        return;
      }
      var haystack = ("#" + service.id + " " + service.name).toLowerCase();
      if (words && haystack.indexOf(words) === -1 && String(service.id) !== words) {
        return;
      }
      if (!groups[service.category]) {
        groups[service.category] = [];
        order.push(service.category);
      }
      groups[service.category].push(service);
    });
    select.replaceChildren();
    var placeholder = new Option(
      order.length ? text("textChoose", "Choose a service") : text("textNone", "No services match"),
      ""
    );
    select.appendChild(placeholder);
    order.forEach(function (categoryId) {
      var group = document.createElement("optgroup");
      group.label = categoryNames[String(categoryId)] || "";
      groups[categoryId].forEach(function (service) {
        group.appendChild(new Option(optionLabel(service), String(service.id)));
      });
      select.appendChild(group);
    });
    var stillThere = Array.prototype.some.call(select.options, function (option) {
      return option.value === current && current !== "";
    });
    if (stillThere) {
      select.value = current;
    } else if (words && select.options.length === 2) {
      select.selectedIndex = 1; // one match: choose it
    }
    update();
  }

  // Problems shown as the customer types, beside the field, in the server's words; the
  // server still judges on submit.
  var typed = false; // after a refusal the server's message stands until they type
  form.addEventListener(
    "input",
    function () {
      typed = true;
    },
    true // capture: before the field's own listener updates the page
  );

  function liveError(input, message) {
    if (!typed) {
      message = "";
    }
    var id = input.id + "-live-error";
    var element = document.getElementById(id);
    if (!element) {
      element = document.createElement("div");
      element.id = id;
      element.className = "invalid-feedback d-block";
      element.setAttribute("role", "status");
      input.insertAdjacentElement("afterend", element);
    }
    element.textContent = message || "";
    element.classList.toggle("d-none", !message);
    input.classList.toggle("is-invalid", Boolean(message));
  }

  function limitProblem(service, count) {
    if (!count) {
      return "";
    }
    if (count < service.min) {
      return text("textMin", "The minimum for this service is {min}.", { min: service.min });
    }
    if (count > service.max) {
      return text("textMax", "The maximum for this service is {max}.", { max: service.max });
    }
    return "";
  }

  function checkBalance(units) {
    var spendable = form.dataset.spendable;
    var short = spendable !== undefined && spendable !== "" && units > toUnits(spendable);
    if (balanceWarning) {
      if (short) {
        document.getElementById("balance-spendable").textContent = usd(spendable);
      }
      balanceWarning.classList.toggle("d-none", !short);
    }
  }

  function badge(text, style) {
    var element = document.createElement("span");
    element.className = "badge " + style;
    element.textContent = text;
    return element;
  }

  function showService(service) {
    show("service-info", Boolean(service));
    if (!service) {
      return;
    }
    var badges = document.getElementById("service-badges");
    badges.replaceChildren();
    if (service.type !== "Default") {
      badges.appendChild(badge(service.type, "text-bg-light border"));
    }
    if (service.refill) {
      badges.appendChild(badge(
          text("textRefill", "Refill {days} d", { days: service.refill_days }),
          "text-bg-success"
        ));
    }
    if (service.cancel) {
      badges.appendChild(badge(text("textCancel", "Cancel"), "text-bg-secondary"));
    }
    if (service.dripfeed) {
      badges.appendChild(badge(text("textDripfeed", "Drip-feed"), "text-bg-info"));
    }
    document.getElementById("service-description").textContent = service.description || "";
    document.getElementById("service-rate").textContent =
      usd(service.rate) +
      " " +
      (service.type === "Package"
        ? text("textPerPackage", "per package")
        : text("textPerThousand", "per 1,000"));
    document.getElementById("service-limits").textContent = service.min + " / " + service.max;
    document.getElementById("service-time").textContent = service.average_time || "—";
  }

  function update() {
    var service = selected();
    showService(service);
    var type = service ? service.type : "";
    var subscription = type === "Subscriptions";
    show("field-quantity", type !== "Package" && type !== "Custom Comments" && !subscription);
    show("field-link", !subscription);
    show("field-subscription", subscription);
    show("field-comments", type === "Custom Comments");
    show("field-dripfeed", Boolean(service && service.dripfeed));
    show("dripfeed-options", Boolean(service && service.dripfeed && dripfeed.checked));
    if (!service) {
      charge.textContent = "—";
      chargeDetail.textContent = "";
      liveError(quantity, "");
      liveError(comments, "");
      checkBalance(0n);
      return;
    }
    var count;
    var detail;
    if (type === "Package") {
      count = 1;
      detail = text("textPackage", "One package.");
    } else if (type === "Custom Comments") {
      count = commentLines();
      detail =
        count === 1
          ? text("textComment", "1 comment.")
          : text("textComments", "{count} comments.", { count: count });
    } else {
      count = wholeNumber(quantity);
      detail = "";
      if (service.dripfeed && dripfeed.checked && wholeNumber(runs) > 0) {
        detail = text("textRuns", "{count} x {runs} runs.", {
          count: count,
          runs: wholeNumber(runs),
        });
        count = count * wholeNumber(runs);
      }
    }
    var perRun = service.dripfeed && dripfeed.checked ? wholeNumber(quantity) : count;
    var problem = type === "Package" ? "" : limitProblem(service, perRun);
    liveError(quantity, type === "Custom Comments" ? "" : problem);
    liveError(comments, type === "Custom Comments" ? problem : "");
    var units = chargeUnits(service, count);
    charge.textContent = formatUnits(units);
    chargeDetail.textContent = detail;
    checkBalance(problem ? 0n : units);
  }

  category.addEventListener("change", filterServices);
  search.addEventListener("input", filterServices);
  select.addEventListener("change", update);
  [quantity, comments, runs, document.getElementById("id_interval")].forEach(function (input) {
    input.addEventListener("input", update);
  });
  dripfeed.addEventListener("change", update);
  if (select.value && byId[select.value]) {
    category.value = String(byId[select.value].category);
  }
  filterServices();
})();
