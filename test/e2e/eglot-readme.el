;;; eglot-readme.el --- checks the README's eglot config, for test/e2e/eglot.test.ts  -*- lexical-binding: t -*-
;;
;; LOCKPATH_CONFIG is the README's elisp block (the server command swapped for this checkout's), LOCKPATH_ROOT the
;; tree.  Loads the config, opens mmu.c, starts eglot the way M-x eglot does (from `eglot-server-programs'), and
;; reports what arrives.  One JSON object per line on stdout; exit 1 on failure.

(require 'cl-lib)
(require 'json)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)

(defvar lp-bound (/ (string-to-number (or (getenv "LOCKPATH_WAIT_MS") "120000")) 1000.0))
(defvar lp-status nil)

(defun lp-emit (&rest plist) (princ (concat (json-encode plist) "\n")))

(condition-case err
    (let ((root (file-name-as-directory (getenv "LOCKPATH_ROOT"))))
      (load (getenv "LOCKPATH_CONFIG") nil t)
      (require 'eglot)
      (cl-defmethod eglot-handle-notification (_server (_method (eql lockpath/status)) &rest params)
        (setq lp-status params))
      (find-file (expand-file-name "virt/kvm/arm/mmu.c" root))
      ;; eglot-ensure waits for a command loop that --batch does not have: start it as M-x eglot would, with the
      ;; tree as the project (the README's users get project.el's git root).
      (let ((eglot-sync-connect t)
            (project-find-functions (list (lambda (_dir) (cons 'transient root)))))
        (call-interactively #'eglot))
      (let ((start (float-time)))
        (while (and (not (and (flymake-diagnostics) (equal (plist-get lp-status :state) "idle")))
                    (< (- (float-time) start) lp-bound))
          (accept-process-output nil 0.02)))
      (let ((server (eglot-current-server)))
        (unless (flymake-diagnostics) (error "No diagnostics within %.0f s (status %S)" lp-bound lp-status))
        (lp-emit :step "attached" :name (plist-get (eglot--server-info server) :name)
                 :root (expand-file-name (project-root (eglot--project server)))
                 :contact (vconcat (process-command (jsonrpc--process server)))
                 :diagnostics (length (flymake-diagnostics))
                 :findings (plist-get lp-status :findings))
        (ignore-errors (eglot-shutdown server)))
      (lp-emit :step "done")
      (kill-emacs 0))
  (error
   (lp-emit :step "fail" :message (error-message-string err))
   (kill-emacs 1)))
