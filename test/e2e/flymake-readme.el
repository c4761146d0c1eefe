;;; flymake-readme.el --- checks the README's lockpath-beside-clangd flymake backend  -*- lexical-binding: t -*-
;;
;; LOCKPATH_CONFIG is the README's elisp block (`lockpath check` swapped for this checkout's CLI), LOCKPATH_ROOT
;; the tree.  Loads the config, opens mmu.c (c-mode runs the README's hooks), runs flymake, and reports the
;; diagnostics the backend gave.  One JSON object per line on stdout; exit 1 on failure.

(require 'cl-lib)
(require 'json)
(require 'flymake)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)

(defvar lp-bound (/ (string-to-number (or (getenv "LOCKPATH_WAIT_MS") "120000")) 1000.0))
(defun lp-emit (&rest plist) (princ (concat (json-encode plist) "\n")))

(condition-case err
    (let ((root (file-name-as-directory (getenv "LOCKPATH_ROOT"))))
      (load (getenv "LOCKPATH_CONFIG") nil t)
      (find-file (expand-file-name "virt/kvm/arm/mmu.c" root))
      (unless (memq #'lockpath-flymake flymake-diagnostic-functions)
        (error "The c-mode hook did not add lockpath-flymake (functions: %S)" flymake-diagnostic-functions))
      ;; Only lockpath's backend: clangd is not what is tested (and eglot-ensure waits for a command loop).
      (setq-local flymake-diagnostic-functions (list #'lockpath-flymake))
      (flymake-mode 1)
      (flymake-start)
      (let ((start (float-time)))
        (while (and (null (flymake-diagnostics)) (< (- (float-time) start) lp-bound))
          (accept-process-output nil 0.05)))
      (unless (flymake-diagnostics) (error "No diagnostics within %.0f s" lp-bound))
      (lp-emit :step "diagnostics"
               :diagnostics (vconcat (mapcar (lambda (d)
                                               (list :line (line-number-at-pos (flymake-diagnostic-beg d))
                                                     :text (buffer-substring-no-properties (flymake-diagnostic-beg d) (flymake-diagnostic-end d))
                                                     :type (symbol-name (flymake-diagnostic-type d))
                                                     :message (flymake-diagnostic-text d)))
                                             (flymake-diagnostics))))
      (lp-emit :step "done")
      (kill-emacs 0))
  (error
   (lp-emit :step "fail" :message (error-message-string err))
   (kill-emacs 1)))
