document.getElementById("app").dataset.loaded = "true";
