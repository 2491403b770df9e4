/** The texts of the payment page's answers, in the two languages it speaks. */

/** The languages the page speaks; the first is the one for everybody else. */
export const LANGUAGES = ["en", "de"] as const;
export type Language = (typeof LANGUAGES)[number];

export type PageKind =
  | "incomplete"
  | "invalid"
  | "completed"
  | "paymentFailed"
  | "expired"
  | "replaced"
  | "notReady"
  | "error";

export interface PageMessage {
  title: string;
  /** One sentence: what happened. */
  what: string;
  /** One sentence: what to do. */
  todo: string;
}

export const PAGE_TEXTS: Record<PageKind, Record<Language, PageMessage>> = {
  incomplete: {
    en: {
      title: "This link is incomplete",
      what: "The payment link you opened is missing a part it needs.",
      todo: "Go back to the app and open the payment link from there again.",
    },
    de: {
      title: "Dieser Link ist unvollständig",
      what: "Dem Zahlungslink, den Sie geöffnet haben, fehlt ein notwendiger Teil.",
      todo: "Gehen Sie zurück zur App und öffnen Sie den Zahlungslink von dort erneut.",
    },
  },
  invalid: {
    en: {
      title: "This payment link is not valid",
      what: "We could not find a payment for this link.",
      todo: "Go back to the app and start the payment again.",
    },
    de: {
      title: "Dieser Zahlungslink ist ungültig",
      what: "Zu diesem Link konnten wir keine Zahlung finden.",
      todo: "Gehen Sie zurück zur App und starten Sie die Zahlung erneut.",
    },
  },
  completed: {
    en: {
      title: "Already completed",
      what: "This payment has already been completed.",
      todo: "There is nothing more to do here; you can go back to the app.",
    },
    de: {
      title: "Bereits abgeschlossen",
      what: "Diese Zahlung wurde bereits abgeschlossen.",
      todo: "Hier ist nichts weiter zu tun; Sie können zur App zurückkehren.",
    },
  },
  paymentFailed: {
    en: {
      title: "The payment failed",
      what: "The payment for this checkout did not go through.",
      todo: "Go back to the app and ask for a new payment link.",
    },
    de: {
      title: "Die Zahlung ist fehlgeschlagen",
      what: "Die Zahlung für diesen Bezahlvorgang ist nicht durchgegangen.",
      todo: "Gehen Sie zurück zur App und fordern Sie dort einen neuen Zahlungslink an.",
    },
  },
  expired: {
    en: {
      title: "This link has expired",
      what: "This payment link is no longer valid because too much time has passed.",
      todo: "Go back to the app to start again.",
    },
    de: {
      title: "Dieser Link ist abgelaufen",
      what: "Dieser Zahlungslink ist nicht mehr gültig, weil zu viel Zeit vergangen ist.",
      todo: "Gehen Sie zurück zur App, um neu zu beginnen.",
    },
  },
  replaced: {
    en: {
      title: "This checkout was replaced",
      what: "Another checkout replaced this one, so that nothing is bought twice.",
      todo: "Go back to the app and continue with the newest checkout, or start again there.",
    },
    de: {
      title: "Dieser Bezahlvorgang wurde ersetzt",
      what: "Ein anderer Bezahlvorgang hat diesen ersetzt, damit nichts doppelt gekauft wird.",
      todo: "Gehen Sie zurück zur App und fahren Sie mit dem neuesten Bezahlvorgang fort, oder beginnen Sie dort neu.",
    },
  },
  notReady: {
    en: {
      title: "This payment is not ready",
      what: "This payment has not been fully set up yet.",
      todo: "Go back to the app and try again.",
    },
    de: {
      title: "Diese Zahlung ist noch nicht bereit",
      what: "Diese Zahlung wurde noch nicht vollständig eingerichtet.",
      todo: "Gehen Sie zurück zur App und versuchen Sie es erneut.",
    },
  },
  error: {
    en: {
      title: "Something went wrong",
      what: "We could not open this payment because of a problem on our side.",
      todo: "Please try again in a moment, or go back to the app.",
    },
    de: {
      title: "Etwas ist schiefgelaufen",
      what: "Wegen eines Problems auf unserer Seite konnten wir diese Zahlung nicht öffnen.",
      todo: "Bitte versuchen Sie es gleich noch einmal oder gehen Sie zurück zur App.",
    },
  },
};
